// `pnpm start`: uses DATABASE_URL when set (a Postgres with wal_level=logical), else starts a
// throwaway Postgres with the test helpers (Debian's postgresql package) and prints how to reach it.
import { postgresBinary, startPostgres } from '@entity-sync/testing';
import { startTodos } from './server.js';

let databaseUrl = process.env['DATABASE_URL'];
let stopDatabase = async (): Promise<void> => {};
if (!databaseUrl) {
  const server = await startPostgres();
  databaseUrl = server.url;
  stopDatabase = () => server.stop();
  console.log(`started Postgres for this run (data is thrown away on exit): ${databaseUrl}`);
}
const app = await startTodos({ databaseUrl, port: Number(process.env['PORT'] ?? 3000), host: process.env['HOST'] ?? '127.0.0.1' });
console.log(`postgres-todos: open ${app.url}`);
console.log(`try: ${postgresBinary('psql')} ${databaseUrl} -c "UPDATE todos SET title = 'Edited in psql' WHERE id = 3"`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  await app.close();
  await stopDatabase();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
