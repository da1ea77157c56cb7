// `pnpm start`: the todo lists of docs/queries.md on one node. Environment: PORT (default 3000).
import { startTodoLists } from './server.js';

const server = await startTodoLists({ port: Number(process.env['PORT'] ?? 3000) });
console.log(`ready: ${server.url} (WebSocket ${server.url.replace('http', 'ws')}ws/entity-sync/)`);

async function shutdown(): Promise<void> {
  await server.close();
  console.log('closed');
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
