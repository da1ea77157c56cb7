import type { ServerProcess } from './server-process.js';

/**
 * A server the tests can stop and start again on the same port (outages), pause and resume
 * (`SIGSTOP`/`SIGCONT`) or kill (`SIGKILL`).
 */
export abstract class TestServer {
  #process: ServerProcess | undefined;

  protected constructor(process: ServerProcess) {
    this.#process = process;
  }

  /** The address clients connect to, e.g. `redis://127.0.0.1:6379`. */
  abstract get url(): string;

  /** The client port; it stays the same across {@link stop} and {@link start}. */
  abstract get port(): number;

  /** Spawns the server again with the ports it had. */
  protected abstract launch(): Promise<ServerProcess>;

  /** Pid of the running process, or `undefined` while stopped. */
  get pid(): number | undefined {
    return this.#process?.running ? this.#process.pid : undefined;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  /** Starts the server again on the same port after {@link stop} or {@link kill}. */
  async start(): Promise<void> {
    if (this.running) return;
    this.#process = await this.launch();
  }

  /** Stops the process (`SIGTERM`, then `SIGKILL`). Idempotent. */
  async stop(): Promise<void> {
    await this.#process?.stop();
  }

  /** Kills the process with `SIGKILL`. */
  async kill(): Promise<void> {
    await this.#process?.kill();
  }

  /** `SIGSTOP`: connections stay open but nothing is answered. */
  pause(): void {
    this.#process?.pause();
  }

  /** `SIGCONT` after {@link pause}. */
  resume(): void {
    this.#process?.resume();
  }
}
