import { randomUUID } from 'node:crypto';
import { type ChangeSource, type EntityKey, EntitySyncError } from '@entity-sync/core';
import { createPostgresSource, type PostgresSourceOptions } from '@entity-sync/postgres';
import { type PostgresServer, RecordingTarget, startPostgres } from '@entity-sync/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execSql } from './support.js';

let server: PostgresServer;
let sources: ChangeSource[] = [];
const wait = { timeout: 20_000, interval: 20 };

beforeAll(async () => {
  server = await startPostgres();
});
afterEach(async () => {
  await Promise.allSettled(sources.map((s) => s.close()));
  sources = [];
});
afterAll(async () => {
  await server?.stop();
});

const unique = (): string => `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const todoKeys = (row: Record<string, unknown> | null, old: Record<string, unknown> | null): EntityKey[] => {
  const r = (row ?? old) as { id: number; owner: string };
  return [
    { entity: 'todos', id: String(r.id) },
    { entity: 'lists', id: r.owner },
  ];
};

async function open(options: Omit<PostgresSourceOptions, 'connection'>, target = new RecordingTarget()) {
  const errors: EntitySyncError[] = [];
  const source = createPostgresSource(target, { connection: server.url, retryMs: 200, onError: (e) => errors.push(e), ...options });
  sources.push(source);
  await source.start();
  return { source, target, errors };
}

async function todoTable(name = unique(), schema = 'public'): Promise<string> {
  await execSql(server.url, [
    `CREATE TABLE IF NOT EXISTS ${schema}.${name} (id int PRIMARY KEY, owner text, body text)`,
    `ALTER TABLE ${schema}.${name} REPLICA IDENTITY FULL`,
  ]);
  return `${schema}.${name}`;
}

describe('createPostgresSource options', () => {
  const make = (options: unknown) => () => createPostgresSource(new RecordingTarget(), options as PostgresSourceOptions);
  it('throws INVALID_OPTIONS with a readable message', () => {
    expect(make({ tables: { t: todoKeys } })).toThrow(/createPostgresSource: expected `connection`/);
    expect(make({ connection: 'postgres://x', mode: 'cdc', tables: { t: todoKeys } })).toThrow(/`mode`/);
    expect(make({ connection: 'postgres://x', slot: 'Bad-Slot', tables: { t: todoKeys } })).toThrow(/`slot`/);
    expect(make({ connection: 'postgres://x', tables: {} })).toThrow(/at least one table/);
    expect(make({ connection: 'postgres://x', tables: { t: todoKeys }, columns: { t: [] } })).toThrow(/`columns`/);
    try {
      make({ connection: 'postgres://x', tables: { t: 1 } })();
    } catch (error) {
      expect(error).toBeInstanceOf(EntitySyncError);
      expect((error as EntitySyncError).code).toBe('INVALID_OPTIONS');
    }
  });

  it('rejects start with the database error when it cannot connect', async () => {
    const source = createPostgresSource(new RecordingTarget(), {
      connection: `postgres://nobody@127.0.0.1:${server.port}/postgres`,
      tables: { t: todoKeys },
    });
    await expect(source.start()).rejects.toThrow(/nobody/);
    expect(source.role).toBe('idle');
  });
});

describe('replication mode', () => {
  it('acknowledges a transaction only after the bus accepted it: another node gets it again', async () => {
    const table = await todoTable();
    const slot = unique();
    const down = new RecordingTarget();
    down.notifyAllOfChange = () => Promise.reject(new EntitySyncError('PUBLISH_FAILED', 'bus down'));
    const first = await open({ slot, publication: slot, tables: { [table]: todoKeys } }, down);
    await execSql(server.url, `INSERT INTO ${table} VALUES (1, 'ann', '')`);
    await vi.waitFor(() => expect(first.errors.some((e) => e.code === 'PUBLISH_FAILED')).toBe(true), wait);
    await first.source.close();
    const second = await open({ slot, publication: slot, tables: { [table]: todoKeys } });
    await vi.waitFor(() => expect(second.target.has('todos', 1)).toBe(true), wait);
  });

  it('delivers what was committed while no node ran, and resyncs when the slot was dropped', async () => {
    const table = await todoTable();
    const slot = unique();
    const options = { slot, publication: slot, tables: { [table]: todoKeys } };
    const first = await open(options);
    expect(first.target.resyncs).toBe(1); // a new slot: nothing proves that nothing was missed
    await first.source.close();
    await execSql(server.url, `INSERT INTO ${table} VALUES (2, 'bob', '')`);
    const second = await open(options);
    await vi.waitFor(() => expect(second.target.has('todos', 2)).toBe(true), wait);
    expect(second.target.resyncs).toBe(0);
    await second.source.close();
    await execSql(server.url, `SELECT pg_drop_replication_slot('${slot}')`);
    const third = await open(options);
    expect(third.target.resyncs).toBe(1);
  });

  it('resyncs on TRUNCATE of a watched table', async () => {
    const table = await todoTable();
    const slot = unique();
    const { target } = await open({ slot, publication: slot, tables: { [table]: todoKeys } });
    const before = target.resyncs;
    await execSql(server.url, `TRUNCATE ${table}`);
    await vi.waitFor(() => expect(target.resyncs).toBe(before + 1), wait);
  });
});

describe('notify mode', () => {
  const triggers = async (table: string): Promise<string[]> => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const result = await client.query<{ tgname: string }>(
      'SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname',
      [table],
    );
    await client.end();
    return result.rows.map((r) => r.tgname);
  };

  it('installs its triggers once, whatever the identifiers, and replaces them when the columns change', async () => {
    await execSql(server.url, 'CREATE SCHEMA IF NOT EXISTS "My Schema"');
    await execSql(server.url, 'CREATE TABLE IF NOT EXISTS "My Schema"."Odd ""Table""" (id int PRIMARY KEY, owner text)');
    const table = 'My Schema.Odd "Table"';
    const quoted = '"My Schema"."Odd ""Table"""';
    const channel = unique();
    const tables = { [table]: todoKeys };
    const a = await open({ mode: 'notify', channel, tables });
    await a.source.close();
    await open({ mode: 'notify', channel, tables });
    expect(await triggers(quoted)).toHaveLength(2); // rows and TRUNCATE
    const before = await triggers(quoted);
    const { target } = await open({ mode: 'notify', channel: unique(), tables, columns: { [table]: ['id', 'owner'] } });
    expect((await triggers(quoted)).filter((t) => !before.includes(t))).toHaveLength(2);
    await execSql(server.url, `INSERT INTO ${quoted} VALUES (5, 'eve')`);
    await vi.waitFor(() => expect(target.has('todos', 5) && target.has('lists', 'eve')).toBe(true), wait);
  });

  it('sends only the columns the key function reads, so a wide row stays small', async () => {
    const table = await todoTable();
    const { target } = await open({ mode: 'notify', channel: unique(), tables: { [table]: todoKeys } });
    const resyncs = target.resyncs;
    await execSql(server.url, `INSERT INTO ${table} VALUES (3, 'cat', repeat('x', 20000))`);
    await vi.waitFor(() => expect(target.has('lists', 'cat')).toBe(true), wait);
    expect(target.resyncs).toBe(resyncs);
  });

  it('falls back to a resync when the payload would pass 8000 bytes, without failing the write', async () => {
    const table = await todoTable();
    const { target } = await open({
      mode: 'notify',
      channel: unique(),
      tables: { [table]: todoKeys },
      columns: { [table]: ['id', 'owner', 'body'] },
    });
    const resyncs = target.resyncs;
    await execSql(server.url, `INSERT INTO ${table} VALUES (4, 'dan', repeat('y', 9000))`);
    await vi.waitFor(() => expect(target.resyncs).toBe(resyncs + 1), wait);
    expect(target.has('todos', 4)).toBe(false);
    await execSql(server.url, `INSERT INTO ${table} VALUES (6, 'fay', 'short')`);
    await vi.waitFor(() => expect(target.has('todos', 6)).toBe(true), wait);
  });

  it('resyncs when the LISTEN session is lost, and listens again', async () => {
    const table = await todoTable();
    const channel = unique();
    const { target, errors } = await open({ mode: 'notify', channel, tables: { [table]: todoKeys } });
    const resyncs = target.resyncs;
    await execSql(server.url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN ${channel}'`);
    await vi.waitFor(() => expect(target.resyncs).toBe(resyncs + 1), wait);
    expect(errors.some((e) => e.code === 'UNAVAILABLE')).toBe(true);
    await execSql(server.url, `INSERT INTO ${table} VALUES (7, 'gus', '')`);
    await vi.waitFor(() => expect(target.has('todos', 7)).toBe(true), wait);
  });
});
