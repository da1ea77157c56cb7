// The node of the `changes` bench in its own process (as in production, apart from the writer
// and the client): entity-sync with a Postgres source and the WebSocket transport. The bench
// drives it over IPC: start and close the source, read how many keys it notified.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChangeSource, createEntitySync, type EntityKey } from '@entity-sync/core';
import { createPostgresSource } from '@entity-sync/postgres';
import { attachWebSocket } from '@entity-sync/ws';
import pg from 'pg';

/** Bench -> node. */
export type NodeCommand = { type: 'start' | 'close' | 'count'; seq: number };
/** Node -> bench. */
export type NodeAnswer = { type: 'ready'; port: number } | { type: 'done'; seq: number; notified: number };

const postgresUrl = process.env['ES_CHANGES_PG'] ?? '';
const reads = new pg.Pool({ connectionString: postgresUrl, max: 8 });
reads.on('error', () => {});
const sync = createEntitySync({ fetchTimeoutMs: 10_000 });
sync.registerEntity('items', {
  scope: 'shared',
  fetch: async (key) => (await reads.query('SELECT id, v FROM items WHERE id = $1', [key.id])).rows[0] ?? null,
});

let notified = 0;
const target = {
  notifyAllOfChange: (keys: EntityKey | readonly EntityKey[]) => {
    notified += [keys].flat().length;
    return sync.notifyAllOfChange(keys);
  },
  resyncAll: () => sync.resyncAll(),
};
let source: ChangeSource | undefined;

async function handle(command: NodeCommand): Promise<void> {
  if (command.type === 'start') {
    notified = 0;
    source = createPostgresSource(target, {
      connection: postgresUrl,
      slot: 'changes',
      retryMs: 100,
      publication: 'changes',
      tables: { 'public.items': (row, old) => [{ entity: 'items', id: String((row ?? old)?.['id']) }] },
    });
    await source.start();
    // The previous follower's session may take a moment to end: wait to hold the slot.
    while (source.role !== 'following') await new Promise((resolve) => setTimeout(resolve, 10));
  } else if (command.type === 'close') {
    await source?.close();
  }
  process.send?.({ type: 'done', seq: command.seq, notified } satisfies NodeAnswer);
}

const http = createServer();
attachWebSocket(sync, { server: http });
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
process.on('message', (command: NodeCommand) => void handle(command));
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port: (http.address() as AddressInfo).port } satisfies NodeAnswer);
