import { type ChildProcess, fork } from 'node:child_process';
import { TS_EXEC_ARGV } from '@entity-sync/testing';
import { fileURLToPath } from 'node:url';
import type { NodeConfig, NodeReply, NodeRequest } from './protocol.js';

const main = fileURLToPath(new URL('./node-main.ts', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

type Pending = { resolve(reply: NodeReply): void; reject(error: Error): void };
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** One entity-sync node running `node-main.ts` in a child process. */
export class NodeProcess {
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => this.#failAll(new Error('node process exited')));
    child.on('message', (reply: NodeReply) => {
      if (!('seq' in reply)) return;
      this.#pending.get(reply.seq)?.resolve(reply);
      this.#pending.delete(reply.seq);
    });
  }

  /** Forks a node and resolves once its WebSocket server listens. */
  static async start(config: NodeConfig): Promise<NodeProcess> {
    const child = fork(main, [], {
      execArgv: TS_EXEC_ARGV,
      env: { ...process.env, ES_NODE: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const ready = new Promise<number>((resolve, reject) => {
      child.on('message', (m: NodeReply) => m.type === 'ready' && resolve(m.port));
      child.once('exit', (code) => reject(new Error(`node process exited early (${code})`)));
    });
    return new NodeProcess(child, await ready);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/entity-sync/`;
  }

  request(request: WithoutSeq<NodeRequest>): Promise<NodeReply> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.child.send({ ...request, seq } as NodeRequest);
    });
  }

  async notify(ids: string[], entity?: string): Promise<void> {
    const reply = await this.request(entity === undefined ? { type: 'notify', ids } : { type: 'notify', ids, entity });
    if (reply.type === 'failed') throw new Error(reply.message);
  }

  async stats(): Promise<Record<string, unknown>> {
    const reply = await this.request({ type: 'stats' });
    if (reply.type !== 'stats') throw new Error(`no stats: ${JSON.stringify(reply)}`);
    return reply.stats;
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** Sends `signal` (default `SIGTERM`) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
