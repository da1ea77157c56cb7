import { randomUUID } from 'node:crypto';
import type { ChangeSource, EntityKey, EntitySyncError } from '@entity-sync/core';
import { createMysqlSource, type MysqlSourceOptions } from '@entity-sync/mysql';
import { type MariadbServer, RecordingTarget, startMariadb } from '@entity-sync/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execSql } from './support.js';

let server: MariadbServer;
let sources: ChangeSource[] = [];
const wait = { timeout: 20_000, interval: 20 };

beforeAll(async () => {
  server = await startMariadb();
});
afterEach(async () => {
  await Promise.allSettled(sources.map((s) => s.close()));
  sources = [];
});
afterAll(async () => {
  await server?.stop();
});

const unique = (): string => `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const keys = (row: Record<string, unknown> | null, old: Record<string, unknown> | null): EntityKey[] => [
  { entity: 'todos', id: String((row ?? old)?.['id']) },
];

async function open(options: Omit<MysqlSourceOptions, 'connection'>, target = new RecordingTarget()) {
  const errors: EntitySyncError[] = [];
  const source = createMysqlSource(target, { connection: server.url, retryMs: 200, onError: (e) => errors.push(e), ...options });
  sources.push(source);
  await source.start();
  return { source, target, errors };
}

async function table(): Promise<string> {
  const name = unique();
  await execSql(server.url, `CREATE TABLE ${name} (id int PRIMARY KEY, owner varchar(64))`);
  return name;
}

describe('createMysqlSource', () => {
  it('throws INVALID_OPTIONS with a readable message', () => {
    const make = (options: unknown) => () => createMysqlSource(new RecordingTarget(), options as MysqlSourceOptions);
    expect(make({ tables: { t: keys } })).toThrow(/createMysqlSource: expected `connection`/);
    expect(make({ connection: 'mysql://x', lock: '', tables: { t: keys } })).toThrow(/`lock`/);
    expect(make({ connection: 'mysql://x', serverId: 0, tables: { t: keys } })).toThrow(/`serverId`/);
    expect(make({ connection: 'mysql://x', tables: {} })).toThrow(/at least one table/);
  });

  it('refuses to start on a server without a row binlog, naming the settings', async () => {
    await execSql(server.url, "SET GLOBAL binlog_format = 'STATEMENT'");
    try {
      const source = createMysqlSource(new RecordingTarget(), { connection: server.url, tables: { t: keys } });
      await expect(source.start()).rejects.toThrow(/binlog_format=STATEMENT; it needs log_bin=ON and binlog_format=ROW/);
    } finally {
      await execSql(server.url, "SET GLOBAL binlog_format = 'ROW'");
    }
  });

  it('reads unqualified table names in the connection database', async () => {
    const name = await table();
    const { target } = await open({ lock: unique(), tables: { [name]: keys } });
    await execSql(server.url, `INSERT INTO ${name} VALUES (1, 'ann')`);
    await vi.waitFor(() => expect(target.has('todos', 1)).toBe(true), wait);
  });

  it('resyncs on a new follower, so what was committed while none ran is fetched again', async () => {
    const name = await table();
    const lock = unique();
    const first = await open({ lock, tables: { [name]: keys } });
    expect(first.target.resyncs).toBe(1);
    await first.source.close();
    await execSql(server.url, `INSERT INTO ${name} VALUES (2, 'bob')`);
    const second = await open({ lock, tables: { [name]: keys } });
    expect(second.source.role).toBe('following');
    expect(second.target.resyncs).toBe(1);
  });

  it('resyncs on TRUNCATE', async () => {
    const name = await table();
    const { target } = await open({ lock: unique(), tables: { [name]: keys } });
    const before = target.resyncs;
    await execSql(server.url, `TRUNCATE TABLE ${name}`);
    await vi.waitFor(() => expect(target.resyncs).toBe(before + 1), wait);
  });
});
