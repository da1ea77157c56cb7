import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ChangeSource, EntityKey, EntitySyncError } from '@entity-sync/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingTarget } from './recording-target.js';
import { conformanceTables, type SourceModule } from './source-conformance-tables.js';
import { forkTs } from './ts-child.js';

/** What a change source under test provides to {@link sourceConformance}, per test. */
export interface SourceFixture {
  /** Runs SQL on a connection of its own, never through the source. An array is one transaction. */
  exec(sql: string | readonly string[]): Promise<void>;
  /**
   * Creates table `name (id int primary key, owner varchar(64), title varchar(200))` with
   * whatever the source needs (e.g. `REPLICA IDENTITY FULL`), and returns the name to use both
   * in SQL and in the source's `tables` map (e.g. `public.t1`).
   */
  createTable(name: string): Promise<string>;
  /** File URL of a module exporting {@link SourceModule.createTestSource}. */
  module: string;
  /** JSON handed to `createTestSource` (connection URL, a slot name unique to the test...). */
  settings: Record<string, unknown>;
  /** SIGKILLs the database and starts it again on the same port and data. */
  restartDatabase(): Promise<void>;
  /**
   * `true` when changes committed while no node followed are delivered later (a replication
   * slot); `false` when the source resyncs the cluster instead (it cannot prove nothing was
   * missed).
   */
  durable: boolean;
  /** Runs after each test, after every source was closed. */
  dispose?(): Promise<void> | void;
}

/** Options of {@link sourceConformance}. */
export interface SourceConformanceOptions {
  /** How long to wait for an expected notification. @default 20000 */
  timeoutMs?: number;
}

const CHILD = fileURLToPath(new URL('./source-child.ts', import.meta.url));

/** A source running in a child process, killed with SIGKILL by the test. */
class ChildSource {
  readonly target = new RecordingTarget();
  role = '';
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: { type: string; keys?: EntityKey[]; role?: string }) => {
      if (m.type === 'notify' && m.keys) void this.target.notifyAllOfChange(m.keys);
      if (m.type === 'resync') void this.target.resyncAll();
      if (m.type === 'role' && m.role) this.role = m.role;
    });
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

const row = (id: number, owner: string, title = `t${id}`): string => `(${id}, '${owner}', '${title}')`;

/**
 * The shared test suite every change source runs (design section 8): insert, update, an update
 * that moves a row, delete, a transaction of 1,000 rows, a table not configured, a throwing key
 * function, the follower killed mid-stream, and the database restarted. Call it at the top level
 * of a test file; `makeFixture` runs before each test.
 */
export function sourceConformance(name: string, makeFixture: () => Promise<SourceFixture>, options: SourceConformanceOptions = {}): void {
  const wait = { timeout: options.timeoutMs ?? 20_000, interval: 20 };
  let fixture: SourceFixture;
  let sources: ChangeSource[];
  let children: ChildSource[];
  let errors: EntitySyncError[];

  const open = async (table: string, target = new RecordingTarget()): Promise<{ source: ChangeSource; target: RecordingTarget }> => {
    const { createTestSource } = (await import(fixture.module)) as SourceModule;
    const source = createTestSource(target, conformanceTables(table), {
      ...fixture.settings,
      retryMs: 200,
      onError: (error) => errors.push(error),
    });
    sources.push(source);
    await source.start();
    return { source, target };
  };

  const openChild = async (table: string): Promise<ChildSource> => {
    const config = { module: fixture.module, table, settings: fixture.settings };
    const child = new ChildSource(forkTs(CHILD, { ES_SOURCE_CHILD: JSON.stringify(config) }));
    children.push(child);
    await vi.waitFor(() => expect(child.role).toBe('following'), wait);
    return child;
  };

  const newTable = (): Promise<string> => fixture.createTable(`t_${randomUUID().slice(0, 8)}`);

  beforeEach(async () => {
    fixture = await makeFixture();
    sources = [];
    children = [];
    errors = [];
  });

  afterEach(async () => {
    await Promise.allSettled(children.map((c) => c.kill()));
    await Promise.allSettled(sources.map((s) => s.close()));
    await fixture.dispose?.();
  });

  describe(`change source conformance: ${name}`, () => {
    it('notifies the keys of an inserted row', async () => {
      const table = await newTable();
      const { source, target } = await open(table);
      expect(source.role).toBe('following');
      await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(1, 'ann')}`);
      await vi.waitFor(() => expect(target.has('items', 1) && target.has('lists', 'ann')).toBe(true), wait);
    });

    it('notifies on update, old and new keys when a row moves, and old keys on delete', async () => {
      const table = await newTable();
      const { target } = await open(table);
      await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(1, 'ann')}`);
      await vi.waitFor(() => expect(target.has('items', 1)).toBe(true), wait);
      const since = (n: number) => target.calls.slice(n);
      const keysOf = (calls: typeof target.calls): string[] => calls.flat().map((k) => ('tag' in k ? `#${k.tag}` : `${k.entity}/${k.id}`));

      let mark = target.calls.length;
      await fixture.exec(`UPDATE ${table} SET title = 'renamed' WHERE id = 1`);
      await vi.waitFor(() => expect(keysOf(since(mark))).toEqual(expect.arrayContaining(['items/1', 'lists/ann'])), wait);

      mark = target.calls.length;
      await fixture.exec(`UPDATE ${table} SET owner = 'bob' WHERE id = 1`);
      await vi.waitFor(() => expect(since(mark)).toHaveLength(1), wait);
      expect(keysOf(since(mark)).sort()).toEqual(['items/1', 'lists/ann', 'lists/bob']);

      mark = target.calls.length;
      await fixture.exec(`DELETE FROM ${table} WHERE id = 1`);
      await vi.waitFor(() => expect(since(mark)).toHaveLength(1), wait);
      expect(keysOf(since(mark)).sort()).toEqual(['items/1', 'lists/bob']);
    });

    it('notifies a transaction of 1,000 rows once, with every key', async () => {
      const table = await newTable();
      const { target } = await open(table);
      const statements = Array.from({ length: 10 }, (_, batch) => {
        const rows = Array.from({ length: 100 }, (_, i) => row(batch * 100 + i, `o${i % 10}`));
        return `INSERT INTO ${table} (id, owner, title) VALUES ${rows.join(', ')}`;
      });
      await fixture.exec(statements);
      await vi.waitFor(() => expect(target.calls.length).toBeGreaterThan(0), wait);
      const big = target.calls.find((call) => call.length > 1);
      expect(big).toHaveLength(1_010);
      expect(target.keys().size).toBe(1_010);
    });

    it('ignores a table that is not configured', async () => {
      const [watched, other] = [await newTable(), await newTable()];
      const { target } = await open(watched);
      await fixture.exec(`INSERT INTO ${other} (id, owner, title) VALUES ${row(5, 'ann')}`);
      await fixture.exec(`INSERT INTO ${watched} (id, owner, title) VALUES ${row(6, 'zed')}`);
      await vi.waitFor(() => expect(target.has('items', 6)).toBe(true), wait);
      expect(target.has('items', 5)).toBe(false);
      expect(target.has('lists', 'ann')).toBe(false);
    });

    it('reports a throwing key function and keeps streaming', async () => {
      const table = await newTable();
      const { source, target } = await open(table);
      await fixture.exec([
        `INSERT INTO ${table} (id, owner, title) VALUES ${row(7, 'ann', 'throw')}`,
        `INSERT INTO ${table} (id, owner, title) VALUES ${row(8, 'bob')}`,
      ]);
      await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(9, 'cat')}`);
      await vi.waitFor(() => expect(target.has('items', 9)).toBe(true), wait);
      expect(target.has('items', 8)).toBe(true);
      expect(target.has('items', 7)).toBe(false);
      expect(errors.find((e) => e.code === 'INTERNAL')?.cause).toMatchObject({ message: 'key function failed on purpose' });
      expect(source.role).toBe('following');
    });

    it('hands the stream to a standing-by node when the follower is killed mid-stream', async () => {
      const table = await newTable();
      const first = await openChild(table);
      const { source, target } = await open(table);
      expect(source.role).toBe('standby');
      for (let id = 0; id < 20; id++) await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(id, 'ann')}`);
      await vi.waitFor(() => expect(first.target.has('items', 0)).toBe(true), wait);
      await first.kill();
      const resyncs = target.resyncs;
      const killedAt = Date.now();
      if (fixture.durable) {
        // Committed while nobody follows: the next follower must still deliver them.
        for (let id = 20; id < 40; id++) await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(id, 'bob')}`);
      }
      await vi.waitFor(() => expect(source.role).toBe('following'), wait);
      const takeoverMs = Date.now() - killedAt;
      if (!fixture.durable) {
        await vi.waitFor(() => expect(target.resyncs).toBeGreaterThan(resyncs), wait);
        for (let id = 20; id < 40; id++) await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(id, 'bob')}`);
      }
      // Durable: every row reaches one of the two. Otherwise the rows the killed follower had not
      // notified yet are covered by the resync above, and every row after it must be notified.
      for (let id = fixture.durable ? 0 : 20; id < 40; id++) {
        await vi.waitFor(() => expect(first.target.has('items', id) || target.has('items', id)).toBe(true), wait);
      }
      console.info(`${name}: takeover after SIGKILL of the follower: ${takeoverMs} ms`);
    });

    it('follows again after the database restarted', async () => {
      const table = await newTable();
      const { source, target } = await open(table);
      await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(1, 'ann')}`);
      await vi.waitFor(() => expect(target.has('items', 1)).toBe(true), wait);
      const resyncs = target.resyncs;
      await fixture.restartDatabase();
      if (!fixture.durable) await vi.waitFor(() => expect(target.resyncs).toBeGreaterThan(resyncs), wait);
      await fixture.exec(`INSERT INTO ${table} (id, owner, title) VALUES ${row(2, 'bob')}`);
      await vi.waitFor(() => expect(target.has('items', 2) && target.has('lists', 'bob')).toBe(true), wait);
      expect(source.role).toBe('following');
      expect(errors.some((e) => e.code === 'UNAVAILABLE')).toBe(true);
    });
  });
}
