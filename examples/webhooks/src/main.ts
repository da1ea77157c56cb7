// `pnpm start`: a node that relays changes of items/1 and of the tag items/any as webhooks.
// Environment: WEBHOOK_URL (required: where to POST), PORT (default 3000).
import { startWebhookNode } from './node.js';

const url = process.env['WEBHOOK_URL'];
if (url === undefined) {
  console.error('set WEBHOOK_URL, e.g. WEBHOOK_URL=http://127.0.0.1:4000/hook');
  process.exit(1);
}
const node = await startWebhookNode({ port: Number(process.env['PORT'] ?? 3000), relay: { url } });
console.log(`ready: POST ${node.url}api/items/1 {"title": "..."} to send a webhook to ${url}`);

async function shutdown(): Promise<void> {
  const stats = node.relay.stats();
  await node.close();
  console.log(`closed: ${JSON.stringify(stats)}`);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
