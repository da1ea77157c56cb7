// Fault: one node process killed with SIGKILL while the others keep writing and notifying. Its
// clients (made with `@entity-sync/client`) must reconnect to a surviving node, resubscribe, and
// converge with everyone else; no surviving process crashes and nothing rejects unhandled.
import { type Client, createClient } from '@entity-sync/client';
import '@entity-sync/testing'; // inject('natsUrl' | 'redisUrl') types
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ClusterRun, type RunSize } from './cluster/cluster-run.js';
import type { NodeProcess } from './cluster/node-process.js';
import type { NodeConfig } from './cluster/protocol.js';

/** 3 nodes; clients, keys and listeners kept small: this runs on every push on 2 cores. */
const SIZE: RunSize = { nodes: 3, clients: 0, keys: 24, keysPerClient: 0, writes: 0 };
const CLIENTS = 30; // 10 per node
const KEYS_PER_LISTENER = 4; // two listeners per client, overlapping on 2 keys
const WRITES_AFTER_RECONNECT = 150;

type Item = { id: string; v: number };

/** One `@entity-sync/client` client with two listeners on overlapping keys. */
class Watcher {
  /** Latest version each listener got, per listener, per id. */
  readonly seen: Map<string, number>[] = [new Map(), new Map()];
  readonly ids: string[][];
  readonly errors: string[] = [];
  /** Per id: when the last snapshot (a (re)subscribe's state) arrived. */
  readonly snapshotAt = new Map<string, number>();
  reordered = 0;
  openedAt = 0;
  opens = 0;
  node = -1;
  readonly client: Client<{ items: Item }>;

  constructor(ids: string[], pickNode: (self: Watcher) => string) {
    const half = KEYS_PER_LISTENER / 2;
    this.ids = [ids.slice(0, KEYS_PER_LISTENER), ids.slice(half, half + KEYS_PER_LISTENER)];
    this.client = createClient<{ items: Item }>({
      url: () => pickNode(this),
      WebSocket,
      retry: { minDelayMs: 20, maxDelayMs: 200 },
      connectTimeoutMs: 2_000,
    });
    this.client.on('state', (state) => {
      if (state !== 'open') return;
      this.opens++;
      this.openedAt = Date.now();
    });
    this.client.on('error', (error) => this.errors.push(`${error.code}: ${error.message}`));
    this.ids.forEach((keys, listener) => {
      for (const id of keys) {
        this.client.subscribe({ entity: 'items', id }, (item, meta) => {
          if (!item) return;
          const seen = this.seen[listener]!;
          if (item.v < (seen.get(id) ?? 0)) this.reordered++;
          seen.set(id, Math.max(item.v, seen.get(id) ?? 0));
          if (meta.snapshot) this.snapshotAt.set(id, Date.now());
        });
      }
    });
  }

  /** (listener, id) pairs whose latest value is not `version(id)`. */
  stale(version: (id: string) => number): number {
    let count = 0;
    this.ids.forEach((keys, listener) => {
      for (const id of keys) if ((this.seen[listener]!.get(id) ?? -1) !== version(id)) count++;
    });
    return count;
  }

  /** Open again since `since`, with a snapshot of every key taken after that reopen. */
  resyncedSince(since: number): boolean {
    if (this.client.state !== 'open' || this.openedAt < since) return false;
    return this.ids.flat().every((id) => (this.snapshotAt.get(id) ?? 0) >= this.openedAt);
  }
}

/** Writes and notifies from the given nodes until stopped. */
class Load {
  writes = 0;
  failures = 0;
  #stopped = false;
  readonly #workers: Promise<void>[];

  constructor(run: ClusterRun, from: NodeProcess[], parallel = 4) {
    this.#workers = Array.from({ length: parallel }, async () => {
      while (!this.#stopped) {
        const node = from[Math.floor(Math.random() * from.length)]!;
        await run.writeAndNotify(node).then(
          () => this.writes++,
          () => this.failures++,
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

const setups: [string, NodeConfig['broker'], () => string][] = [
  ['NATS', 'nats', () => inject('natsUrl')],
  ['Redis', 'redis', () => inject('redisUrl')],
];

describe.each(setups)('one of 3 node processes killed with SIGKILL, over %s', (name, broker, brokerUrl) => {
  let run: ClusterRun | undefined;
  const watchers: Watcher[] = [];
  const alive = new Set<number>();

  beforeAll(async () => {
    run = await ClusterRun.start(broker, () => [brokerUrl()], SIZE);
    for (let i = 0; i < run.nodes.length; i++) alive.add(i);
    // A client's first connection goes to its own node (round robin); after a drop, to a
    // random node that is still alive (what a load balancer with health checks does).
    const pickNode = (w: Watcher): string => {
      const candidates = [...alive];
      if (w.node === -1 || !alive.has(w.node)) w.node = candidates[Math.floor(Math.random() * candidates.length)]!;
      return run!.nodes[w.node]!.url;
    };
    for (let i = 0; i < CLIENTS; i++) {
      const ids = new Set<string>();
      while (ids.size < KEYS_PER_LISTENER * 1.5) ids.add(run.randomId());
      const watcher = new Watcher([...ids], (w) => {
        if (w.node === -1) w.node = i % run!.nodes.length;
        return pickNode(w);
      });
      watchers.push(watcher);
    }
    // Everyone open with a snapshot of each key before the fault.
    await vi.waitFor(() => expect(watchers.every((w) => w.resyncedSince(0))).toBe(true), {
      timeout: 20_000,
      interval: 20,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(watchers.map((w) => w.client.close()));
    await run?.close();
  });

  it('its clients reconnect to another node, resubscribe and converge', async (ctx) => {
    const r = run!;
    const [victim, ...survivors] = r.nodes as [NodeProcess, ...NodeProcess[]];
    const orphans = watchers.filter((w) => w.node === 0);
    const others = watchers.filter((w) => w.node !== 0);
    expect(orphans.length).toBe(CLIENTS / 3);
    const opensBefore = others.map((w) => w.opens);

    // Writes only ever go through the survivors, so no write is left un-notified by the kill.
    const load = new Load(r, survivors);
    await expect.poll(() => load.writes, { timeout: 10_000, interval: 5 }).toBeGreaterThan(50);

    alive.delete(0);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    expect(victim.child.signalCode).toBe('SIGKILL');

    // Every orphan is open on a survivor and holds a snapshot fetched after its reconnect.
    await expect.poll(() => orphans.every((w) => w.resyncedSince(killedAt)), { timeout: 15_000, interval: 5 }).toBe(true);
    const resyncedAt = Math.max(...orphans.map((w) => Math.max(...w.ids.flat().map((id) => w.snapshotAt.get(id)!))));
    const reopenedAt = Math.max(...orphans.map((w) => w.openedAt));

    // Keep writing after the reconnects, so the orphans also get live updates through their new node.
    const writesAtResync = load.writes;
    await expect.poll(() => load.writes, { timeout: 20_000, interval: 5 }).toBeGreaterThan(writesAtResync + WRITES_AFTER_RECONNECT);
    await load.stop();
    const quietAt = Date.now();

    const version = (id: string): number => r.store.version(id);
    await expect.poll(() => watchers.reduce((n, w) => n + w.stale(version), 0), { timeout: 10_000, interval: 10 }).toBe(0);
    const convergedAt = Date.now();

    expect(orphans.every((w) => w.node !== 0 && w.client.state === 'open')).toBe(true);
    // The clients of the survivors never dropped.
    expect(others.map((w) => w.opens)).toEqual(opensBefore);
    expect(watchers.reduce((n, w) => n + w.reordered, 0)).toBe(0);
    expect(watchers.flatMap((w) => w.errors)).toEqual([]);
    expect(survivors.every((n) => n.child.exitCode === null && n.child.signalCode === null)).toBe(true);
    expect(load.failures).toBe(0);
    expect(unhandled).toEqual([]);

    const note =
      `${name}: ${orphans.length} orphaned clients reopened ${reopenedAt - killedAt} ms and held fresh ` +
      `snapshots of all their keys ${resyncedAt - killedAt} ms after SIGKILL; ${load.writes} writes; ` +
      `all ${watchers.length} clients converged ${convergedAt - quietAt} ms after the last notify`;
    console.log(`[node-kill] ${note}`);
    ctx.annotate(note);
  }, 90_000);
});
