// One entity-sync node with a Postgres change source, in its own process, for the source
// cluster test. Configured by ES_SOURCE_NODE (JSON); reports its port and role over IPC.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntityKey } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createPostgresSource } from '@entity-sync/postgres';
import { attachWebSocket } from '@entity-sync/ws';
import pg from 'pg';

export interface SourceNodeConfig {
  natsUrl: string;
  prefix: string;
  postgresUrl: string;
  slot: string;
}

/** Node -> test. */
export type SourceNodeMessage = { type: 'ready'; port: number } | { type: 'role'; role: string };

const config = JSON.parse(process.env['ES_SOURCE_NODE'] ?? '{}') as SourceNodeConfig;
const send = (message: SourceNodeMessage): void => void process.send?.(message);
const pool = new pg.Pool({ connectionString: config.postgresUrl, max: 4 });
pool.on('error', () => {});

/** Reads a row; waits out a database restart (a real app's fetch would retry too). */
async function readRow(table: 'items' | 'notes', id: string): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await pool.query(`SELECT id, v FROM ${table} WHERE id = $1`, [id]);
      return result.rows[0] ?? null;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const sync = createEntitySync({ broker: createNatsBroker({ servers: config.natsUrl }), prefix: config.prefix, fetchTimeoutMs: 10_000 });
sync.registerEntity('items', { scope: 'shared', fetch: (key) => readRow('items', key.id) });
sync.registerEntity('notes', { scope: 'shared', fetch: (key) => readRow('notes', key.id) });

const byId =
  (entity: string) =>
  (row: Record<string, unknown> | null, old: Record<string, unknown> | null): EntityKey[] => [{ entity, id: String((row ?? old)?.['id']) }];
const source = createPostgresSource(sync, {
  connection: config.postgresUrl,
  slot: config.slot,
  publication: config.slot,
  retryMs: 1_000,
  tables: { 'public.items': byId('items'), 'public.notes': byId('notes') },
  onError: () => {},
});

const server = createServer((_req, res) => res.writeHead(404).end());
attachWebSocket(sync, { server });
await sync.ready();
await source.start();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
send({ type: 'ready', port: (server.address() as AddressInfo).port });
let role = '';
setInterval(() => {
  if (source.role !== role) send({ type: 'role', role: (role = source.role) });
}, 10);
process.on('disconnect', () => process.exit(0));
