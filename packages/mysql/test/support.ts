import { randomUUID } from 'node:crypto';
import type { MariadbServer, SourceFixture } from '@entity-sync/testing';
import mysql from 'mysql2/promise';

/** Runs SQL on a fresh connection: a string as is, an array inside one transaction. */
export async function execSql(url: string, sql: string | readonly string[]): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  connection.on('error', () => {});
  try {
    if (typeof sql === 'string') await connection.query(sql);
    else await connection.query(['START TRANSACTION', ...sql, 'COMMIT'].join(';\n'));
  } finally {
    await connection.end();
  }
}

/** A conformance fixture on `server`, with a leader lock unique to the test. */
export function mysqlFixture(server: MariadbServer): SourceFixture {
  const unique = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return {
    module: new URL('./source-fixture.ts', import.meta.url).href,
    settings: { connection: server.url, lock: unique },
    durable: false,
    exec: (sql) => execSql(server.url, sql),
    async createTable(name) {
      await execSql(server.url, `CREATE TABLE test.${name} (id int PRIMARY KEY, owner varchar(64), title varchar(200)) ENGINE=InnoDB`);
      return `test.${name}`;
    },
    async restartDatabase() {
      await server.kill();
      await server.start();
    },
  };
}
