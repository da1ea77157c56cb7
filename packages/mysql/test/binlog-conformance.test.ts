import { type MariadbServer, sourceConformance, startMariadb } from '@entity-sync/testing';
import { afterAll, beforeAll } from 'vitest';
import { mysqlFixture } from './support.js';

let server: MariadbServer;
beforeAll(async () => {
  server = await startMariadb();
});
afterAll(async () => {
  await server?.stop();
});

sourceConformance('mariadb (binlog)', async () => mysqlFixture(server));
