// One entity-sync node: an HTTP server with the edit API and the WebSocket endpoint, on the
// broker chosen by BROKER. `main.ts` starts two of these, each in its own process. Environment:
// NODE_NAME, PORT, STORE_URL, BROKER, NATS_URL / REDIS_URL (see config.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync } from '@entity-sync/core';
import { attachWebSocket } from '@entity-sync/ws';
import { brokerFromEnv, type Item, portFromEnv, readBody } from './config.js';
import { send } from './store.js';

const name = process.env['NODE_NAME'] ?? 'A';
const storeUrl = process.env['STORE_URL'];
if (!storeUrl) throw new Error('STORE_URL is not set (start the nodes with `pnpm start`)');
const log = (line: string): void => console.log(`[node ${name}] ${line}`);

const { broker, describe } = brokerFromEnv();
const sync = createEntitySync({
  broker,
  onError: (error) => log(`error: ${error.message}`),
});

// Every value a client gets is read here, from the shared store, on the node it is connected to.
sync.registerEntity('items', {
  scope: 'shared',
  fetch: async (key) => {
    const response = await fetch(`${storeUrl}/items/${encodeURIComponent(key.id)}`);
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`store answered ${response.status}`);
    return (await response.json()) as Item;
  },
});

// POST /api/items/:id {"title"?, "done"?}: write to the store, then tell every node.
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://node').pathname;
  if (req.method !== 'POST' || !path.startsWith('/api/items/')) {
    return send(res, 404, { error: 'POST /api/items/:id {"title"?: string, "done"?: boolean}' });
  }
  const id = decodeURIComponent(path.slice('/api/items/'.length));
  const written = await fetch(`${storeUrl}/items/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    body: await readBody(req),
  });
  const item = (await written.json()) as unknown;
  if (written.ok) {
    await sync.notifyAllOfChange({ entity: 'items', id });
    log(`wrote items/${id} and notified: ${JSON.stringify(item)}`);
  }
  send(res, written.status, item);
}

const http = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
});
const wss = attachWebSocket(sync, { server: http, path: '/ws/entity-sync/' });
await sync.ready();
await new Promise<void>((resolve, reject) => {
  http.once('error', reject);
  http.listen(portFromEnv('PORT', 3001), '127.0.0.1', () => resolve());
});
const { port } = http.address() as AddressInfo;
const base = `127.0.0.1:${port}`;
log(`pid ${process.pid}: http://${base}/api/items/:id, ws://${base}/ws/entity-sync/, on ${describe}`);
process.send?.({ type: 'ready', name, port, pid: process.pid });

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${why}: closing (clients get 1001 and reconnect elsewhere)`);
  await sync.close(); // 1001 to every client, drain fetches, leave the bus
  await wss.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('disconnect', () => void stop('launcher gone'));
