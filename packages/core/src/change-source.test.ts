import { describe, expect, it, vi } from 'vitest';
import {
  type ChangeSink,
  type ChangeSourceOptions,
  type ChangeSourceTarget,
  createChangeSource,
  type FollowedStream,
  type RowChange,
} from './change-source.js';
import { EntitySyncError } from './errors.js';
import type { EntityKey, Tag } from './keys.js';

/** A target that records what reached it, and can be told to fail. */
class RecordingTarget implements ChangeSourceTarget {
  notified: Array<Array<EntityKey | Tag>> = [];
  resyncs = 0;
  failures = 0;

  async notifyAllOfChange(keys: EntityKey | Tag | readonly (EntityKey | Tag)[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new EntitySyncError('PUBLISH_FAILED', 'bus down');
    }
    this.notified.push([keys].flat());
  }

  async resyncAll(): Promise<void> {
    this.resyncs++;
  }
}

/** A stream driver whose leadership and stream the test controls. */
class ScriptedDriver {
  readonly name = 'testSource';
  sink: ChangeSink | undefined;
  leader = true;
  refuse: Error | undefined;
  follows = 0;
  stopped = 0;
  #end: ((error?: Error) => void) | undefined;

  async follow(sink: ChangeSink): Promise<FollowedStream | undefined> {
    this.follows++;
    if (this.refuse) throw this.refuse;
    this.sink = sink;
    if (!this.leader) return undefined;
    const ended = new Promise<void>((resolve, reject) => {
      this.#end = (error) => (error ? reject(error) : resolve());
    });
    return {
      ended,
      stop: async () => {
        this.stopped++;
        this.#end?.();
      },
    };
  }

  lose(error: Error): void {
    this.#end?.(error);
  }
}

const todos = (row: Record<string, unknown> | null, old: Record<string, unknown> | null): EntityKey[] => {
  const r = (row ?? old) as { id: number; owner: string };
  return [
    { entity: 'todos', id: String(r.id) },
    { entity: 'lists', id: r.owner },
  ];
};

function setup(extra: Partial<ChangeSourceOptions> = {}) {
  const target = new RecordingTarget();
  const driver = new ScriptedDriver();
  const errors: EntitySyncError[] = [];
  const source = createChangeSource(
    target,
    { tables: { 'public.todos': todos }, retryMs: 5, onError: (e) => errors.push(e), ...extra },
    driver,
  );
  const commit = (...changes: RowChange[]) => (driver.sink as ChangeSink).commit(changes);
  return { target, driver, errors, source, commit };
}

const change = (row: object | null, old: object | null, table = 'public.todos'): RowChange => ({
  table,
  row: row as RowChange['row'],
  old: old as RowChange['old'],
});

describe('createChangeSource', () => {
  it('rejects bad options with INVALID_OPTIONS naming the source', () => {
    const driver = new ScriptedDriver();
    const target = new RecordingTarget();
    const make = (options: unknown) => () => createChangeSource(target, options as ChangeSourceOptions, driver);
    expect(make({ tables: {} })).toThrow(/testSource: .*at least one table/s);
    expect(make({ tables: { 'public.todos': 'id' } })).toThrow(/expected a function/);
    expect(make({ tables: { '': todos } })).toThrow(/not empty/);
    expect(make({ tables: { t: todos }, retryMs: -1 })).toThrow(EntitySyncError);
  });

  it('turns a transaction into one notify of its distinct keys, old and new on a move', async () => {
    const { source, target, commit } = setup();
    await source.start();
    expect(source.role).toBe('following');
    await commit(
      change({ id: 1, owner: 'a' }, null),
      change({ id: 2, owner: 'a' }, null),
      change({ id: 1, owner: 'b' }, { id: 1, owner: 'x' }),
      change(null, { id: 3, owner: 'c' }),
      change({ id: 9, owner: 'z' }, null, 'public.unwatched'),
    );
    expect(target.notified).toHaveLength(1);
    const ids = target.notified[0]?.map((k) => ('tag' in k ? `#${k.tag}` : `${k.entity}/${k.id}`)).sort();
    expect(ids).toEqual(['lists/a', 'lists/b', 'lists/c', 'lists/x', 'todos/1', 'todos/2', 'todos/3']);
    await commit(change({ id: 9, owner: 'z' }, null, 'public.unwatched'));
    expect(target.notified).toHaveLength(1);
    await source.close();
  });

  it('notifies the tags a key function returns, with the keys, once each per transaction', async () => {
    const owners = (row: Record<string, unknown> | null, old: Record<string, unknown> | null) => {
      const r = (row ?? old) as { id: number; owner: string };
      return [{ entity: 'todos', id: String(r.id) }, { tag: `todos/owner/${r.owner}` }];
    };
    const { source, target, commit } = setup({ tables: { 'public.todos': owners } });
    await source.start();
    await commit(
      change({ id: 1, owner: 'a' }, null),
      change({ id: 2, owner: 'a' }, null),
      change({ id: 1, owner: 'b' }, { id: 1, owner: 'a' }),
    );
    const ids = target.notified[0]?.map((k) => ('tag' in k ? `#${k.tag}` : `${k.entity}/${k.id}`)).sort();
    expect(ids).toEqual(['#todos/owner/a', '#todos/owner/b', 'todos/1', 'todos/2']);
    await source.close();
  });

  it('reports a throwing key function and a bad key, and still notifies the other rows', async () => {
    const bad = (row: Record<string, unknown> | null) => {
      if (row?.['id'] === 0) throw new Error('boom');
      return [{ entity: row?.['id'] === 1 ? 'no spaces allowed' : 'x', id: String(row?.['id']) }];
    };
    const { source, target, errors, commit } = setup({ tables: { t: bad } });
    await source.start();
    await commit(change({ id: 0 }, null, 't'), change({ id: 1 }, null, 't'), change({ id: 2 }, null, 't'));
    expect(target.notified).toEqual([[{ entity: 'x', id: '2' }]]);
    expect(errors.map((e) => e.code)).toEqual(['INTERNAL', 'INVALID_KEY']);
    expect(errors[0]?.cause).toMatchObject({ message: 'boom' });
    await source.close();
  });

  it('resolves a commit only after the bus accepted it, retrying failed publishes', async () => {
    const { source, target, errors, commit } = setup();
    await source.start();
    target.failures = 2;
    await commit(change({ id: 1, owner: 'a' }, null));
    expect(target.notified).toHaveLength(1);
    expect(errors.map((e) => e.code)).toEqual(['PUBLISH_FAILED', 'PUBLISH_FAILED']);
    await source.close();
  });

  it('closes itself when the node it notifies is closed', async () => {
    const { source, target, driver, commit } = setup();
    await source.start();
    target.notifyAllOfChange = () => Promise.reject(new EntitySyncError('CLOSED', 'closed'));
    await expect(commit(change({ id: 1, owner: 'a' }, null))).rejects.toMatchObject({ code: 'CLOSED' });
    await vi.waitFor(() => expect(source.role).toBe('closed'));
    expect(driver.stopped).toBe(1);
  });

  it('resyncs the cluster on a gap', async () => {
    const { source, target, driver } = setup();
    await source.start();
    await driver.sink?.gap('a lost slot');
    expect(target.resyncs).toBe(1);
    await source.close();
  });

  it('stands by while another node follows, and takes over when it can', async () => {
    const { source, driver } = setup();
    driver.leader = false;
    await source.start();
    expect(source.role).toBe('standby');
    driver.leader = true;
    await vi.waitFor(() => expect(source.role).toBe('following'));
    await source.close();
    expect(source.role).toBe('closed');
    expect(driver.stopped).toBe(1);
  });

  it('reports a lost stream and follows again', async () => {
    const { source, driver, errors } = setup();
    await source.start();
    driver.lose(new Error('connection reset'));
    await vi.waitFor(() => expect(driver.follows).toBe(2));
    await vi.waitFor(() => expect(source.role).toBe('following'));
    expect(errors[0]?.code).toBe('UNAVAILABLE');
    expect(errors[0]?.message).toMatch(/testSource: lost the stream: connection reset/);
    await source.close();
  });

  it('keeps retrying after a failed reconnect', async () => {
    const { source, driver, errors } = setup();
    await source.start();
    driver.refuse = new Error('connection refused');
    driver.lose(new Error('gone'));
    await vi.waitFor(() => expect(driver.follows).toBeGreaterThan(3));
    driver.refuse = undefined;
    await vi.waitFor(() => expect(source.role).toBe('following'));
    expect(errors.some((e) => e.message.includes('connection refused'))).toBe(true);
    await source.close();
  });

  it('rejects start when the first attempt fails, and can start again', async () => {
    const { source, driver } = setup();
    driver.refuse = new Error('password authentication failed');
    await expect(source.start()).rejects.toThrow(/password authentication failed/);
    expect(source.role).toBe('idle');
    driver.refuse = undefined;
    await source.start();
    expect(source.role).toBe('following');
    await source.close();
    await expect(source.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
