import { startDemo } from './server.js';

const port = Number(process.env['PORT'] ?? 3000);
const demo = await startDemo({ port, host: process.env['HOST'] ?? '127.0.0.1' });
console.log(`entity-sync demo: open ${demo.url} in two browser tabs and edit an item`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  await demo.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
