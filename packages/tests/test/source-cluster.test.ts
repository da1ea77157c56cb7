import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@entity-sync/client';
import { forkTs, type PostgresServer, startPostgres } from '@entity-sync/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SourceNodeConfig, SourceNodeMessage } from './sources/source-node-main.js';

const MAIN = fileURLToPath(new URL('./sources/source-node-main.ts', import.meta.url));
const SIZE = { nodes: 3, clients: 300, keysPerTable: 60, keysPerClient: 6, writes: 2_000 };
const TABLES = ['items', 'notes'] as const;

/** A node process with a Postgres source; its role is what it last reported. */
class SourceNode {
  role = '';
  port = 0;
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(config: SourceNodeConfig): Promise<SourceNode> {
    const node = new SourceNode(forkTs(MAIN, { ES_SOURCE_NODE: JSON.stringify(config) }));
    await new Promise<void>((resolve, reject) => {
      node.child.on('message', (m: SourceNodeMessage) => {
        if (m.type === 'ready') {
          node.port = m.port;
          resolve();
        } else node.role = m.role;
      });
      node.child.once('exit', (code) => reject(new Error(`node process exited early (${code})`)));
    });
    return node;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }
}

type Row = { id: string; v: number } | null;

let postgres: PostgresServer;
let writer: pg.Pool;
const nodes: SourceNode[] = [];
const clients: Client[] = [];
/** client index -> `table/id` -> latest value seen. */
const seen: Map<string, number>[] = [];

const randomKey = (): [string, string] => [
  TABLES[Math.floor(Math.random() * TABLES.length)] as string,
  `k${Math.floor(Math.random() * SIZE.keysPerTable)}`,
];

/** One UPDATE from the writer's own connection; retried while the database restarts. */
async function write(): Promise<void> {
  const [table, id] = randomKey();
  for (;;) {
    try {
      await writer.query(`UPDATE ${table} SET v = v + 1 WHERE id = $1`, [id]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function writes(count: number, parallel = 8): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) await write();
    }),
  );
}

/** (client, key) pairs whose latest value is not the database's. */
async function staleCount(): Promise<number> {
  const current = new Map<string, number>();
  for (const table of TABLES) {
    const result = await writer.query<{ id: string; v: number }>(`SELECT id, v FROM ${table}`);
    for (const row of result.rows) current.set(`${table}/${row.id}`, row.v);
  }
  return seen.reduce((stale, values) => stale + [...values].filter(([key, v]) => current.get(key) !== v).length, 0);
}

const follower = (): SourceNode | undefined => nodes.find((n) => n.alive && n.role === 'following');

beforeAll(async () => {
  postgres = await startPostgres();
  writer = new pg.Pool({ connectionString: postgres.url, max: 8 });
  writer.on('error', () => {});
  for (const table of TABLES) {
    await writer.query(`CREATE TABLE ${table} (id text PRIMARY KEY, v int NOT NULL)`);
    await writer.query(`INSERT INTO ${table} SELECT 'k' || g, 0 FROM generate_series(0, ${SIZE.keysPerTable - 1}) g`);
  }
  const config = { natsUrl: inject('natsUrl'), prefix: `t-${randomUUID()}`, postgresUrl: postgres.url, slot: 'cluster_test' };
  for (let i = 0; i < SIZE.nodes; i++) nodes.push(await SourceNode.start(config));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(nodes.map((n) => n.kill('SIGTERM')));
  await writer?.end();
  await postgres?.stop();
});

describe('3 node processes on NATS with a Postgres source, writes made with plain SQL', () => {
  it('converge to the database through a follower SIGKILL and a database restart', async (ctx) => {
    await expect.poll(() => follower(), { timeout: 20_000 }).toBeDefined();
    for (let i = 0; i < SIZE.clients; i++) {
      const values = new Map<string, number>();
      seen.push(values);
      // A load balancer: each connection attempt goes to a live node, starting with the client's own.
      const url = (): string => {
        const live = nodes.filter((n) => n.alive);
        return `ws://127.0.0.1:${(live[i % live.length] ?? nodes[0])?.port}/ws/entity-sync/`;
      };
      const client = createClient({ url, WebSocket: WebSocket as never, retry: { minDelayMs: 100, maxDelayMs: 1_000 } });
      clients.push(client);
      for (let k = 0; k < SIZE.keysPerClient; k++) {
        const [entity, id] = randomKey();
        client.subscribe({ entity, id }, (row) => {
          const value = row as Row;
          if (value) values.set(`${entity}/${id}`, Math.max(values.get(`${entity}/${id}`) ?? -1, value.v));
        });
      }
    }
    await expect.poll(() => seen.every((v) => v.size > 0), { timeout: 30_000 }).toBe(true);

    const started = Date.now();
    await writes(SIZE.writes * 0.35);
    const victim = follower();
    expect(victim).toBeDefined();
    const killedAt = Date.now();
    await victim?.kill();
    await writes(SIZE.writes * 0.3);
    await expect.poll(() => follower(), { timeout: 30_000 }).toBeDefined();
    const takeoverMs = Date.now() - killedAt;

    const restartAt = Date.now();
    await postgres.kill();
    await postgres.start();
    const restartMs = Date.now() - restartAt;
    await writes(SIZE.writes * 0.35);
    const writesMs = Date.now() - started;

    const quietAt = Date.now();
    await expect.poll(() => staleCount(), { timeout: 60_000, interval: 100 }).toBe(0);
    const convergeMs = Date.now() - quietAt;
    const times = `${SIZE.writes} writes in ${writesMs} ms; takeover ${takeoverMs} ms after SIGKILL; database down ${restartMs} ms; converged ${convergeMs} ms after the last write`;
    console.info(`source cluster: ${times}`);
    ctx.annotate(times);
  }, 180_000);
});
