import { randomUUID } from 'node:crypto';
import type { PostgresServer, SourceFixture } from '@entity-sync/testing';
import pg from 'pg';

/** Runs SQL on a fresh connection: a string as is, an array inside one transaction. */
export async function execSql(url: string, sql: string | readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    if (typeof sql === 'string') await client.query(sql);
    else await client.query(['BEGIN', ...sql, 'COMMIT'].join(';\n'));
  } finally {
    await client.end();
  }
}

/** A conformance fixture for one mode, on `server`, with a slot and channel unique to the test. */
export function postgresFixture(server: PostgresServer, mode: 'replication' | 'notify'): SourceFixture {
  const unique = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return {
    module: new URL('./source-fixture.ts', import.meta.url).href,
    settings: { connection: server.url, mode, slot: unique, publication: unique, channel: unique },
    durable: mode === 'replication',
    exec: (sql) => execSql(server.url, sql),
    async createTable(name) {
      await execSql(server.url, [
        `CREATE TABLE public.${name} (id int PRIMARY KEY, owner varchar(64), title varchar(200))`,
        `ALTER TABLE public.${name} REPLICA IDENTITY FULL`,
      ]);
      return `public.${name}`;
    },
    async restartDatabase() {
      await server.kill();
      await server.start();
    },
    async dispose() {
      if (mode !== 'replication' || !server.running) return;
      await execSql(
        server.url,
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${unique}' AND NOT active`,
      ).catch(() => {});
    },
  };
}
