// `pnpm start`: one entity-sync node with Prometheus metrics on /metrics and a health check on
// /healthz, next to its WebSocket endpoint and a small edit API. Environment: PORT (default
// 3000), NATS_URL (default: none, a single node on the in-process MemoryBroker).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync } from '@entity-sync/core';
import { collectMetrics } from '@entity-sync/metrics';
import { createNatsBroker } from '@entity-sync/nats';
import { attachWebSocket } from '@entity-sync/ws';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ops } from './ops.js';

interface Item {
  id: string;
  title: string;
}
const db = new Map<string, Item>([['1', { id: '1', title: 'first' }]]);

const natsUrl = process.env['NATS_URL'];
const sync = createEntitySync({
  ...(natsUrl ? { broker: createNatsBroker({ servers: natsUrl }) } : {}),
  onError: (err, ctx) => console.error(`[entity-sync] ${err.code}: ${err.message}`, ctx),
});
sync.registerEntity('items', { scope: 'shared', fetch: (key) => db.get(key.id) ?? null });

const registry = new Registry();
collectDefaultMetrics({ register: registry }); // process_*, nodejs_*: CPU, memory, event loop lag
collectMetrics(sync, { registry }); // entity_sync_*: see docs/operations.md
const endpoints = ops(sync, registry);

const http = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://node').pathname;
  endpoints
    .handle(path, res)
    .then(async (done) => {
      if (done) return;
      // POST /api/items/:id {"title": "..."}: write, then notify (every node's subscribers).
      const id = path.startsWith('/api/items/') ? decodeURIComponent(path.slice('/api/items/'.length)) : '';
      if (req.method !== 'POST' || id === '') return void res.writeHead(404).end();
      const { title } = JSON.parse(await readBody(req)) as { title: string };
      db.set(id, { id, title });
      await sync.notifyAllOfChange({ entity: 'items', id });
      res.writeHead(204).end();
    })
    .catch((error: unknown) => res.writeHead(500).end(String(error)));
});
const transport = attachWebSocket(sync, { server: http });
http.listen(Number(process.env['PORT'] ?? 3000), '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo;
  console.log(`ready: ws://127.0.0.1:${port}/ws/entity-sync/  http://127.0.0.1:${port}/metrics  http://127.0.0.1:${port}/healthz`);
});

// Graceful shutdown: fail the health check, close every client with 1001 (they reconnect to
// another node), let in-flight fetches finish (closeTimeoutMs), leave the bus, stop listening.
// Nothing is left running, so the process exits on its own with code 0.
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  endpoints.drain();
  setTimeout(() => process.exit(1), 15_000).unref(); // in case something hangs
  await sync.close();
  await transport.close();
  http.closeAllConnections();
  http.close(() => console.log('closed'));
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

async function readBody(req: AsyncIterable<unknown>): Promise<string> {
  let body = '';
  for await (const chunk of req) if ((body += String(chunk)).length > 16_384) throw new Error('body too large');
  return body;
}
