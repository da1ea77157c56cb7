import { randomUUID } from 'node:crypto';
import { FleetClient } from './fleet.js';
import { NodeProcess } from './node-process.js';
import type { NodeConfig } from './protocol.js';
import { Store } from './store.js';

/** Sizes of one cluster run (the issue's numbers by default). */
export interface RunSize {
  nodes: number;
  clients: number;
  keys: number;
  keysPerClient: number;
  writes: number;
}

export const ISSUE_SIZE: RunSize = { nodes: 3, clients: 300, keys: 100, keysPerClient: 8, writes: 2_000 };

/** A cluster of node processes on one broker, a store, and clients spread over the nodes. */
export class ClusterRun {
  readonly clients: FleetClient[] = [];
  readonly nodes: NodeProcess[] = [];
  private constructor(
    readonly store: Store,
    readonly size: RunSize,
  ) {}

  static async start(broker: NodeConfig['broker'], urlsFor: (node: number) => string[], size: RunSize = ISSUE_SIZE): Promise<ClusterRun> {
    const run = new ClusterRun(await Store.start(), size);
    const prefix = `t-${randomUUID()}`;
    const starts = Array.from({ length: size.nodes }, (_, i) =>
      NodeProcess.start({ broker, urls: urlsFor(i), prefix, storeUrl: run.store.url }),
    );
    for (const r of await Promise.allSettled(starts)) {
      if (r.status === 'fulfilled') run.nodes.push(r.value);
    }
    if (run.nodes.length < size.nodes) {
      await run.close();
      throw new Error('a node process did not start');
    }
    return run;
  }

  /** Connects the clients round-robin over the nodes, each with random overlapping keys. */
  async connectClients(): Promise<void> {
    const { clients, keys, keysPerClient } = this.size;
    for (let i = 0; i < clients; i++) {
      const client = await FleetClient.connect(this.nodes[i % this.nodes.length]!.url);
      this.clients.push(client);
      const ids = new Set<string>();
      while (ids.size < keysPerClient) ids.add(`k${Math.floor(Math.random() * keys)}`);
      await client.subscribe([...ids]);
    }
  }

  randomId(): string {
    return `k${Math.floor(Math.random() * this.size.keys)}`;
  }

  /** One write to the store, then a notify from a random (or the given) node. */
  async writeAndNotify(node = this.nodes[Math.floor(Math.random() * this.nodes.length)]!): Promise<void> {
    const id = this.randomId();
    this.store.write(id);
    await node.notify([id]);
  }

  /** `count` writes+notifies, `parallel` at a time. */
  async writes(count: number, parallel = 16): Promise<void> {
    let left = count;
    const worker = async (): Promise<void> => {
      while (left-- > 0) await this.writeAndNotify();
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  /** Number of (client, key) pairs whose latest value is not the store's. */
  staleCount(): number {
    const version = (id: string): number => this.store.version(id);
    return this.clients.reduce((sum, c) => sum + c.stale(version).length, 0);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    await this.store.close();
  }
}
