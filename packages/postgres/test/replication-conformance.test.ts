import { type PostgresServer, sourceConformance, startPostgres } from '@entity-sync/testing';
import { afterAll, beforeAll } from 'vitest';
import { postgresFixture } from './support.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

sourceConformance('postgres (replication)', async () => postgresFixture(server, 'replication'));
