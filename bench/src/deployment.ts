import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type NatsServer, type RedisServer, startNats, startRedis } from '@entity-sync/testing';
import { nowMs } from './clock.js';
import { Rpc } from './ipc.js';
import { pin, SERVER_CPU, spawnNode, stopChild } from './procs.js';
import type { TargetSpec } from './targets/index.js';
import type { UpdateBatch, UpdateItem } from './targets/store.js';
import { ES_PATH, type ServerConfig, SIO_PATH } from './targets/types.js';

export interface MemSample {
  rss: number;
  heap: number;
  peakRss: number;
}

/** Which node processes serve an id (hold subscribers) and which one notifies it. */
export interface Routing {
  servedBy(id: string): number[];
  notifier(id: string, seq: number): number;
}

/** One target running: its broker (if any) and its node processes, pinned to the server CPU. */
export class Deployment {
  readonly seqs = new Map<string, number>();
  /** Told `[id, seq]` of every update and the time its notifications go out (the driver's latency base). */
  onSend: (items: Array<[string, number]>, ts: number) => void = () => {};

  private constructor(
    readonly target: TargetSpec,
    readonly nodes: Rpc[],
    readonly ports: number[],
    private readonly broker: NatsServer | RedisServer | undefined,
  ) {}

  static async start(target: TargetSpec, padBytes: number): Promise<Deployment> {
    const broker = target.broker === 'nats' ? await startNats() : target.broker === 'redis' ? await startRedis() : undefined;
    if (broker?.pid) pin(broker.pid, SERVER_CPU);
    const prefix = `bench-${randomUUID().slice(0, 8)}`;
    const started = await Promise.allSettled(
      Array.from({ length: target.nodes }, (_, node) =>
        startNode({ impl: target.impl, broker: target.broker, ...(broker && { brokerUrl: broker.url }), node, padBytes, prefix }),
      ),
    );
    const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(nodes.map((n) => stopChild(n.rpc.child)));
      await broker?.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new Deployment(
      target,
      nodes.map((n) => n.rpc),
      nodes.map((n) => n.port),
      broker,
    );
  }

  /** WebSocket URL of each node, in node order. */
  get urls(): string[] {
    const path = this.target.impl === 'sio' ? `${SIO_PATH}?EIO=4&transport=websocket` : ES_PATH;
    return this.ports.map((port) => `ws://127.0.0.1:${port}${path}`);
  }

  /** Socket.IO carries the data over the bus, so only the notifying node needs the new row. */
  get dataOnBus(): boolean {
    return this.target.impl === 'sio';
  }

  /**
   * Writes a new row for each id into every node that serves it (and the notifying one), waits
   * until they have it, then has the notifying nodes notify. A node can thus never fetch before
   * its write, whatever order its event loop reads the IPC pipe and the broker socket in.
   * Returns the time the notifications went out.
   */
  async update(entity: string, ids: readonly string[], routing: Routing): Promise<number> {
    const sets: UpdateItem[][] = this.nodes.map(() => []);
    const notifies: string[][] = this.nodes.map(() => []);
    const sent: Array<[string, number]> = [];
    const written = nowMs();
    for (const id of ids) {
      const seq = (this.seqs.get(id) ?? 0) + 1;
      this.seqs.set(id, seq);
      const item: UpdateItem = [id, seq, written];
      const notifier = routing.notifier(id, seq) % this.nodes.length;
      notifies[notifier]!.push(id);
      sets[notifier]!.push(item);
      if (!this.dataOnBus) for (const node of routing.servedBy(id)) if (node !== notifier) sets[node]!.push(item);
      sent.push([id, seq]);
    }
    await Promise.all(sets.map((set, node) => set.length && this.nodes[node]!.call({ t: 'update', batch: { entity, set, notify: [] } })));
    const ts = nowMs();
    this.onSend(sent, ts);
    for (const [node, notify] of notifies.entries()) {
      if (notify.length > 0) this.nodes[node]!.post({ t: 'update', batch: { entity, set: [], notify } satisfies UpdateBatch });
    }
    return ts;
  }

  /** Latest seq of every id updated so far. */
  expected(): Record<string, number> {
    return Object.fromEntries(this.seqs);
  }

  /** Server CPU time (user + system) of each node, in microseconds. */
  cpu(): Promise<number[]> {
    return Promise.all(this.nodes.map((n) => n.call<number>({ t: 'cpu' })));
  }

  mem(gc: boolean): Promise<MemSample[]> {
    return Promise.all(this.nodes.map((n) => n.call<MemSample>({ t: 'mem', gc })));
  }

  stats(): Promise<Array<Record<string, number>>> {
    return Promise.all(this.nodes.map((n) => n.call<Record<string, number>>({ t: 'stats' })));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        await n.call({ t: 'close' }, 3_000).catch(() => undefined);
        await stopChild(n.child);
      }),
    );
    await this.broker?.stop();
  }
}

async function startNode(config: ServerConfig): Promise<{ rpc: Rpc; port: number }> {
  // BENCH_SERVER_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles every server process.
  const extra = (process.env['BENCH_SERVER_FLAGS'] ?? '').split(' ').filter(Boolean);
  const child = spawnNode('server', SERVER_CPU, [JSON.stringify(config)], ['--expose-gc', ...extra]);
  const rpc = new Rpc(child, `${config.impl}-${config.broker} node ${config.node}`);
  try {
    const port = await waitReady(child, rpc);
    return { rpc, port };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

function waitReady(child: ChildProcess, rpc: Rpc): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${rpc.name} not ready after 30 s`)), 30_000);
    child.on('message', (m: { t?: string; port?: number; error?: string }) => {
      if (m.t === 'ready') clearTimeout(timer), resolve(m.port ?? 0);
      if (m.t === 'failed') clearTimeout(timer), reject(new Error(`${rpc.name} failed to start: ${m.error}`));
    });
    void rpc.exited.then((code) => (clearTimeout(timer), reject(new Error(`${rpc.name} exited (${code}) before ready`))));
  });
}
