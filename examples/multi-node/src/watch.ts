// `pnpm watch`: a Node client (`@entity-sync/client`) that prints every value of a few items.
// It connects to node B first and, whenever its connection drops, tries the next node in the
// list. Environment: WATCH_URLS (comma-separated WebSocket URLs; default node B then node A,
// from PORT_B / PORT_A), IDS (default 1,2,3).
import { createClient } from '@entity-sync/client';
import { WebSocket } from 'ws';
import { type Item, portFromEnv } from './config.js';

const urls = (
  process.env['WATCH_URLS'] ??
  [portFromEnv('PORT_B', 3002), portFromEnv('PORT_A', 3001)].map((p) => `ws://127.0.0.1:${p}/ws/entity-sync/`).join(',')
).split(',');
const ids = (process.env['IDS'] ?? '1,2,3').split(',');

let attempt = 0;
let current = urls[0]!;
const client = createClient<{ items: Item }>({
  url: () => (current = urls[attempt++ % urls.length]!),
  WebSocket,
  retry: { minDelayMs: 100, maxDelayMs: 2_000 },
});
client.on('state', (state, { code, retryInMs }) => {
  if (state === 'open') attempt = urls.indexOf(current); // after a drop, try this node first, then the next
  const detail = state === 'reconnecting' ? ` (close ${code ?? '-'}, next try in ${retryInMs} ms)` : '';
  console.log(`[watch] ${state}${state === 'open' ? ` ${current}` : ''}${detail}`);
});
client.on('error', (error) => console.error(`[watch] ${error.code}: ${error.message}`));
for (const id of ids) {
  client.subscribe({ entity: 'items', id }, (item, { snapshot }) => {
    const text = item ? `"${item.title}" done=${item.done} v${item.version}` : '(no such item)';
    console.log(`[watch] items/${id} ${snapshot ? 'snapshot' : 'update  '} ${text}`);
  });
}

const stop = (): void => void client.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
