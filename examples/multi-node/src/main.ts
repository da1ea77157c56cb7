// `pnpm start`: the store, then node A and node B, each in its own process, on one broker.
// Environment: BROKER=nats|redis (default nats), NATS_URL / REDIS_URL, PORT_A / PORT_B
// (default 3001 / 3002), STORE_PORT (default: any free port).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { portFromEnv } from './config.js';
import { startStore } from './store.js';

const store = await startStore(portFromEnv('STORE_PORT', 0));
console.log(`[main] store (the shared "database") on ${store.url}`);

const nodeMain = fileURLToPath(new URL('./node.ts', import.meta.url));
const nodes = new Map<string, ChildProcess>();

/** Forks one node. It inherits this process's `tsx` loader and `--conditions` (process.execArgv). */
function startNode(name: string, port: number): Promise<number> {
  const child = fork(nodeMain, [], {
    env: { ...process.env, NODE_NAME: name, PORT: String(port), STORE_URL: store.url },
  });
  nodes.set(name, child);
  child.once('exit', (code, signal) => {
    nodes.delete(name);
    console.log(`[main] node ${name} exited (${signal ?? `code ${code}`}); ${nodes.size} node(s) left`);
    if (nodes.size === 0) void shutdown(stopping ? 0 : 1);
  });
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    child.once('exit', () => reject(new Error(`node ${name} exited before it was ready`)));
  });
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  stopping = true;
  const exits = [...nodes.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of nodes.values()) child.kill('SIGTERM');
  await Promise.all(exits);
  await store.close();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const [a, b] = await Promise.all([startNode('A', portFromEnv('PORT_A', 3001)), startNode('B', portFromEnv('PORT_B', 3002))]);
  console.log(`[main] ready: node A on port ${a}, node B on port ${b}. Try:`);
  console.log(`  pnpm --filter @entity-sync/example-multi-node watch     # a client on node B (falls back to A)`);
  console.log(`  curl -X POST -d '{"title":"hello from A"}' http://127.0.0.1:${a}/api/items/2`);
} catch (error) {
  console.error(`[main] ${String(error)}`);
  await shutdown(1);
}
