import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresBinary, startMariadb, startPostgres, type TestServer } from '../src/index.js';

const leftovers: TestServer[] = [];
afterAll(async () => {
  await Promise.allSettled(leftovers.map((s) => s.stop()));
});

describe('startPostgres', () => {
  const psql = (url: string, sql: string): string => execFileSync(postgresBinary('psql'), [url, '-tAc', sql], { encoding: 'utf8' }).trim();

  it('runs with logical replication on, and keeps its data across a SIGKILL and a restart', async () => {
    const pg = await startPostgres();
    leftovers.push(pg);
    expect(psql(pg.url, 'SHOW wal_level')).toBe('logical');
    psql(pg.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
    await pg.kill();
    expect(pg.running).toBe(false);
    await pg.start();
    expect(psql(pg.url, 'SELECT v FROM kept')).toBe('7');
    await pg.stop();
    expect(pg.pid).toBeUndefined();
  });

  it('fails to start with an error that carries the server log', async () => {
    await expect(startPostgres({ settings: { wal_level: 'no_such_level' } })).rejects.toThrow(/wal_level/);
  });
});

describe('startMariadb', () => {
  it('runs with a row binlog, and keeps its data across a SIGKILL and a restart', async () => {
    const db = await startMariadb();
    leftovers.push(db);
    const mysql = (sql: string): string =>
      execFileSync('mariadb', ['-h127.0.0.1', `-P${db.port}`, '-uroot', '-N', '-B', 'test', '-e', sql], { encoding: 'utf8' }).trim();
    expect(mysql('SELECT @@log_bin, @@binlog_format, @@binlog_row_image')).toBe('1\tROW\tFULL');
    mysql('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
    await db.kill();
    await db.start();
    expect(mysql('SELECT v FROM kept')).toBe('7');
    await db.stop();
    expect(db.running).toBe(false);
  });

  it('fails to start with an error that carries the server log', async () => {
    await expect(startMariadb({ args: ['--no-such-option'] })).rejects.toThrow(/no-such-option/);
  });
});
