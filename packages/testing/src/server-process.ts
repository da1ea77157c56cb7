import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

/** A fresh temporary directory, removed when the test process exits. */
export function makeTempDir(label: string): string {
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), `entity-sync-${label}-`));
  tempDirs.add(dir);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Kills every server this process started; runs on exit and on SIGINT/SIGTERM/SIGHUP. */
function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    killAll();
    removeTempDirs();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/** What {@link ServerProcess.launch} needs to start one server process. */
export interface LaunchOptions {
  /** Used in error messages, e.g. `redis-server`. */
  name: string;
  bin: string;
  args: string[];
  /** Resolves once the server accepts clients. Raced against the process exiting early. */
  ready(process: ServerProcess, signal: AbortSignal): Promise<void>;
  /** @default 15000 */
  readyTimeoutMs?: number;
  /** Run as this user and group (when the test process is root and the server refuses root). */
  user?: { uid: number; gid: number };
  /** The signal that asks for a clean, quick shutdown (Postgres: `SIGINT`). @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
}

/**
 * One spawned server process: started, waited for, and killed by pid on `stop()`, on failure,
 * and when the test process exits.
 */
export class ServerProcess {
  readonly exited: Promise<void>;
  #output = '';
  #paused = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly stopSignal: NodeJS.Signals,
  ) {
    installExitHooks();
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        resolve();
      });
    });
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Spawns the server and resolves once `ready` resolves; kills it if it does not get there. */
  static async launch(options: LaunchOptions): Promise<ServerProcess> {
    const child = spawn(options.bin, options.args, { stdio: ['ignore', 'pipe', 'pipe'], ...options.user });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const server = new ServerProcess(options.name, child, options.stopSignal ?? 'SIGTERM');
    try {
      await server.#raceReady(options);
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  async #raceReady(options: LaunchOptions): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const early = this.exited.then(() => {
      throw new Error(`${this.name} exited before it was ready:\n${this.#output}`);
    });
    const timeout = new Promise<never>((_, reject) => {
      const ms = options.readyTimeoutMs ?? 15_000;
      timer = setTimeout(() => reject(new Error(`${this.name} not ready after ${ms} ms:\n${this.#output}`)), ms);
    });
    try {
      await Promise.race([options.ready(this, abort.signal), early, timeout]);
    } finally {
      clearTimeout(timer);
      abort.abort();
      early.catch(() => {});
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KB the server printed (for failure messages). */
  get output(): string {
    return this.#output;
  }

  /** `SIGSTOP`: the process keeps its sockets but stops answering. */
  pause(): void {
    if (this.running && !this.#paused) this.child.kill('SIGSTOP');
    this.#paused = true;
  }

  /** `SIGCONT` after {@link pause}. */
  resume(): void {
    if (this.running && this.#paused) this.child.kill('SIGCONT');
    this.#paused = false;
  }

  /** `SIGTERM` (or the stop signal), then `SIGKILL` after `graceMs`. Resolves once gone. Idempotent. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return this.exited;
    this.resume();
    this.child.kill(this.stopSignal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** `SIGKILL` at once (a crash, for fault tests). */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}
