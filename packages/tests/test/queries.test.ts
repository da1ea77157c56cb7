import { allowOwner, type EntitySync, MemoryBroker, ownRows, type User } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, connect, type Node, setSecret, startNode, subscribe } from './support.js';

/**
 * Queries, tags and identity (design section 9) across three bridges on one bus: query keys with
 * validated params, invalidation by tag, dependency changes, identify and scope `user`, views.
 */
afterEach(closeAll);

interface Todo {
  id: string;
  owner: string;
  title: string;
  done: boolean;
}

/** The application's table, shared by every node as a database would be. */
class Todos {
  readonly rows = new Map<string, Todo>();
  fetches = 0;
  put(todo: Todo): void {
    this.rows.set(todo.id, todo);
  }
  list(owner: string, done?: boolean): Todo[] {
    return [...this.rows.values()]
      .filter((t) => t.owner === owner && (done === undefined || t.done === done))
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}

const listKey = (owner: string, done?: boolean) => ({ entity: 'todoList', params: done === undefined ? { owner } : { owner, done } });
const listId = (params: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(params).sort()));
const tagOf = (owner: string) => ({ tag: `todos/owner/${owner}` });

function registerTodos(sync: EntitySync, todos: Todos): void {
  sync.registerEntity('todoList', {
    params: z.object({ owner: z.string().min(1), done: z.boolean().optional() }),
    fetch: (key, ctx) => {
      todos.fetches++;
      ctx.dependsOn(tagOf(key.params.owner));
      return todos.list(key.params.owner, key.params.done);
    },
  });
  sync.registerEntity('todo', {
    fetch: (key, ctx) => {
      const todo = todos.rows.get(key.id) ?? null;
      if (todo !== null) ctx.dependsOn(tagOf(todo.owner)); // follows its owner's tag too
      return todo;
    },
  });
}

async function cluster(todos: Todos, options: Parameters<typeof startNode>[1] = {}): Promise<Node[]> {
  const broker = new MemoryBroker({ subscribeLatency: 1 });
  return Promise.all([0, 1, 2].map(() => startNode((sync) => registerTodos(sync, todos), { broker, ...options })));
}

/** Writes like an application would: the row, then a notify of the tags (and key) it touched. */
async function write(node: Node, todos: Todos, todo: Todo, before?: Todo): Promise<void> {
  todos.put(todo);
  const owners = new Set([todo.owner, before?.owner].filter((o): o is string => o !== undefined));
  await node.sync.notifyAllOfChange([{ entity: 'todo', id: todo.id }, ...[...owners].map(tagOf)]);
}

const latest = (client: { messages: unknown[] }, entity: string, id: string): unknown => {
  const frames = (client.messages as Array<{ type: string; entity: string; id: string; data: unknown }>).filter(
    (f) => f.type === 'data' && f.entity === entity && f.id === id,
  );
  return frames.at(-1)?.data;
};

describe('query keys', () => {
  it('validates params with the schema; {a,b} and {b,a} are one subscription and one fetch', async () => {
    const todos = new Todos();
    const [a] = await cluster(todos);
    const client = await connect(a!);
    const reply = await client.request({ action: 'subscribe', body: { entity: 'todoList', params: { owner: 7 } } }, 1);
    expect(reply).toMatchObject({ type: 'error', ref: 1, code: 'INVALID_KEY', entity: 'todoList', id: '{"owner":7}' });
    expect(reply.message).toMatch(/^invalid params: owner: /);
    expect(todos.fetches).toBe(0);

    await subscribe(client, { entity: 'todoList', params: { owner: 'ann', done: false } } as never);
    await subscribe(client, { entity: 'todoList', params: { done: false, owner: 'ann' } } as never);
    expect(a!.sync.stats()).toMatchObject({ subscriptions: 1, keys: 1 });
    const id = '{"done":false,"owner":"ann"}';
    expect(client.messages.filter((f: any) => f.type === 'data').map((f: any) => f.id)).toEqual([id]);
  });

  it('refuses params for an entity that takes an id, an id for a query, and both at once', async () => {
    const [a] = await cluster(new Todos());
    const client = await connect(a!);
    const body = [
      { entity: 'todo', params: { id: '1' } },
      { entity: 'todoList', id: 'ann' },
      { entity: 'todoList', id: 'ann', params: { owner: 'ann' } },
      { entity: 'todoList', params: 'ann' },
      { entity: 'todoList', params: { owner: 'x'.repeat(2000) } },
    ];
    client.send({ action: 'subscribe', body, ref: 'bad' });
    const errors = await Promise.all(body.map((_, i) => client.waitFor((f) => f.type === 'error' && f.ref === 'bad' && errors_i(f) === i)));
    function errors_i(f: any): number {
      return (client.messages as any[]).filter((m) => m.type === 'error' && m.ref === 'bad').indexOf(f);
    }
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('INVALID_KEY'));
    expect(errors.map((e) => e.message)).toEqual([
      '"todo" takes an id, not params',
      '"todoList" is a query: it takes params',
      'a key has an id or params, not both',
      'params must be a JSON object',
      'params must be at most 1024 bytes as JSON',
    ]);
  });
});

describe('tags', () => {
  it('a row that moves between lists reaches both, on every node; inserts and deletes too', async () => {
    const todos = new Todos();
    const nodes = await cluster(todos);
    const [ann, bob] = [await connect(nodes[1]!), await connect(nodes[2]!)];
    await subscribe(ann, listKey('ann') as never);
    await subscribe(bob, listKey('bob') as never);
    const annId = listId({ owner: 'ann' });
    const bobId = listId({ owner: 'bob' });

    // Insert: written and notified by a node that holds no subscription at all.
    const milk: Todo = { id: 't1', owner: 'ann', title: 'milk', done: false };
    await write(nodes[0]!, todos, milk);
    await expect.poll(() => latest(ann, 'todoList', annId)).toEqual([milk]);

    // Move: the row's owner changes; the old list loses it, the new one gains it.
    const moved = { ...milk, owner: 'bob' };
    await write(nodes[0]!, todos, moved, milk);
    await expect.poll(() => latest(ann, 'todoList', annId)).toEqual([]);
    await expect.poll(() => latest(bob, 'todoList', bobId)).toEqual([moved]);

    // Delete.
    todos.rows.delete('t1');
    await nodes[0]!.sync.notifyAllOfChange([{ entity: 'todo', id: 't1' }, tagOf('bob')]);
    await expect.poll(() => latest(bob, 'todoList', bobId)).toEqual([]);
    expect(latest(ann, 'todoList', annId)).toEqual([]);
  });

  it('a node listens to a tag while a local value depends on it, and not after', async () => {
    const todos = new Todos();
    todos.put({ id: 't1', owner: 'ann', title: 'milk', done: false });
    const nodes = await cluster(todos, { resumeCacheMs: 0 }); // no lingering after the last subscriber
    const client = await connect(nodes[1]!);
    await subscribe(client, { entity: 'todo', id: 't1' });
    // The key's own subject, and the tag its value declared.
    await expect.poll(() => nodes[1]!.sync.stats()).toMatchObject({ busSubscriptions: 2, dependencies: 1 });

    // The row moves to bob: its next fetch declares bob's tag instead of ann's.
    await write(nodes[0]!, todos, { id: 't1', owner: 'bob', title: 'milk', done: false }, todos.rows.get('t1'));
    await expect.poll(() => (latest(client, 'todo', 't1') as Todo | undefined)?.owner).toBe('bob');
    await expect.poll(() => nodes[1]!.sync.stats()).toMatchObject({ busSubscriptions: 2, dependencies: 1 });
    // Ann's tag no longer reaches the value; bob's does.
    const frames = client.messages.length;
    await nodes[0]!.sync.notifyAllOfChange(tagOf('ann'));
    todos.put({ id: 't1', owner: 'bob', title: 'oat milk', done: false });
    await nodes[0]!.sync.notifyAllOfChange(tagOf('bob'));
    await expect.poll(() => (latest(client, 'todo', 't1') as Todo).title).toBe('oat milk');
    expect(client.messages.length).toBe(frames + 1);

    client.send({ action: 'unsubscribe', body: { entity: 'todo', id: 't1' } });
    await expect.poll(() => nodes[1]!.sync.stats()).toMatchObject({ busSubscriptions: 0, dependencies: 0 });
  });

  it('a fetch that declares a tag while that tag is notified is fetched again (no change is missed)', async () => {
    const todos = new Todos();
    const broker = new MemoryBroker({ subscribeLatency: 20 });
    let release: (() => void) | undefined;
    const slow = (sync: EntitySync) =>
      sync.registerEntity('count', {
        scope: 'shared',
        fetch: async (_key, ctx) => {
          const value = todos.list('ann').length; // read before the write below
          if (release === undefined) await new Promise<void>((resolve) => (release = resolve));
          ctx.dependsOn(tagOf('ann')); // declared after the change was notified
          return value;
        },
      });
    const [a, b] = await Promise.all([startNode(slow, { broker }), startNode(slow, { broker })]);
    const client = await connect(b!);
    client.send({ action: 'subscribe', body: { entity: 'count', id: 'ann' }, ref: 1 });
    await expect.poll(() => release).toBeDefined();
    // The write lands while the fetch runs, and its notify reaches the bus before b listens to the tag.
    todos.put({ id: 't1', owner: 'ann', title: 'milk', done: false });
    await a!.sync.notifyAllOfChange(tagOf('ann'));
    release!();
    await expect.poll(() => latest(client, 'count', 'ann'), { timeout: 3_000 }).toBe(1);
  });
});

describe('identity', () => {
  const users: Record<string, User> = { 'tok-ann': { id: 'ann', role: 'member' }, 'tok-bob': { id: 'bob', role: 'admin' } };

  it('identify runs once per secret change, not per fetch; scope user fetches once per user', async () => {
    const todos = new Todos();
    todos.put({ id: 't1', owner: 'ann', title: 'milk', done: false });
    let identified = 0;
    let fetches = 0;
    const node = await startNode(
      (sync) =>
        sync.registerEntity('mine', {
          scope: 'user',
          authorize: (_key, ctx) => ctx.user !== null,
          fetch: (_key, ctx) => {
            fetches++;
            return { user: ctx.user?.id, todos: todos.list(ctx.user!.id) };
          },
        }),
      {
        identify: async (secret) => {
          identified++;
          return users[secret] ?? null;
        },
      },
    );
    const clients = await Promise.all([0, 1, 2].map(() => connect(node)));
    await expect.poll(() => identified).toBe(3); // each connection's initial secret ('')
    for (const c of clients) await setSecret(c, 'tok-ann');
    expect(identified).toBe(6);
    for (const c of clients) await subscribe(c, { entity: 'mine', id: 'x' });
    const before = fetches;
    await node.sync.notifyAllOfChange({ entity: 'mine', id: 'x' });
    for (const c of clients) await expect.poll(() => c.messages.filter((f: any) => f.type === 'data').length).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(fetches - before).toBe(1); // one user, one fetch
    expect(identified).toBe(6); // fetches did not identify again

    // A switch of user refetches with the new user; anonymous is refused.
    await setSecret(clients[0]!, 'tok-bob');
    await expect.poll(() => (latest(clients[0]!, 'mine', 'x') as { user: string }).user).toBe('bob');
    await setSecret(clients[1]!, 'nobody');
    await clients[1]!.waitFor((f) => f.type === 'error' && f.code === 'FORBIDDEN');
  });

  it('a throwing identify gets IDENTIFY_FAILED, leaves the connection anonymous and loses nothing else', async () => {
    const errors: string[] = [];
    const node = await startNode(
      (sync) =>
        sync
          .registerEntity('whoami', { fetch: (_key, ctx) => ({ user: ctx.user?.id ?? null }) })
          .registerEntity('private', { authorize: (_key, ctx) => ctx.user !== null, fetch: () => 'secret data' }),
      {
        identify: (secret) => {
          if (secret === 'boom') throw new Error('identity provider down');
          return users[secret] ?? null;
        },
        onError: (e) => errors.push(e.code),
      },
    );
    const client = await connect(node);
    await setSecret(client, 'tok-ann');
    await subscribe(client, { entity: 'whoami', id: 'me' });
    await subscribe(client, { entity: 'private', id: 'p' });
    expect(latest(client, 'whoami', 'me')).toEqual({ user: 'ann' });
    expect(await client.request({ action: 'secret', body: 'boom' }, 'boom')).toEqual({ type: 'ack', ref: 'boom' });
    await client.waitFor((f) => f.type === 'error' && f.code === 'IDENTIFY_FAILED');
    await client.waitFor((f) => f.type === 'error' && f.code === 'FORBIDDEN' && f.id === 'p');
    await expect.poll(() => latest(client, 'whoami', 'me')).toEqual({ user: null });
    expect(errors).toContain('IDENTIFY_FAILED');
    // The connection works on: a good secret identifies it again.
    await setSecret(client, 'tok-bob');
    await expect.poll(() => latest(client, 'whoami', 'me')).toEqual({ user: 'bob' });
    await expect.poll(() => latest(client, 'private', 'p')).toBe('secret data');
  });
});

describe('views', () => {
  it('one shared fetch per notify, one serialization per audience, each subscriber gets its audience only', async () => {
    const todos = new Todos();
    for (let i = 0; i < 6; i++) todos.put({ id: `t${i}`, owner: `u${i % 3}`, title: `todo ${i}`, done: false });
    let fetches = 0;
    const node = await startNode(
      (sync) =>
        sync.registerEntity('board', {
          fetch: () => {
            fetches++;
            return [...todos.rows.values()].map((t) => ({ ...t, password: 'hunter2' }));
          },
          view: ownRows('owner'),
          redact: ['password'],
        }),
      { identify: (secret) => ({ id: secret }) },
    );
    const clients = [];
    for (let i = 0; i < 12; i++) {
      const c = await connect(node);
      await setSecret(c, `u${i % 3}`);
      await subscribe(c, { entity: 'board', id: 'all' });
      clients.push(c);
    }
    const before = { fetches, encodings: node.sync.stats().encodings };
    todos.put({ id: 't0', owner: 'u0', title: 'changed', done: true });
    await node.sync.notifyAllOfChange({ entity: 'board', id: 'all' });
    for (const c of clients)
      await expect.poll(() => (latest(c, 'board', 'all') as Todo[]).find((t) => t.id === 't0')?.title ?? 'none').not.toBe('todo 0');
    expect(fetches - before.fetches).toBe(1);
    expect(node.sync.stats().encodings - before.encodings).toBe(3);
    for (const [i, c] of clients.entries()) {
      const rows = latest(c, 'board', 'all') as Array<Todo & { password?: string }>;
      expect(rows.every((t) => t.owner === `u${i % 3}`)).toBe(true);
      expect(rows.some((t) => 'password' in t)).toBe(false);
    }
    expect(clients[1]!.frames.join('')).not.toContain('hunter2');
  });

  it('allowOwner lets only the owner subscribe to a list by its params', async () => {
    const todos = new Todos();
    const node = await startNode(
      (sync) =>
        sync.registerEntity('todoList', {
          params: z.object({ owner: z.string() }),
          authorize: allowOwner('owner'),
          fetch: (key) => todos.list(key.params.owner),
        }),
      { identify: (secret) => (secret === '' ? null : { id: secret }) },
    );
    const client = await connect(node);
    await setSecret(client, 'ann');
    await subscribe(client, listKey('ann') as never);
    const reply = await client.request({ action: 'subscribe', body: listKey('bob') }, 'bob');
    expect(reply).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('server-side subscribers', () => {
  it('server code follows keys and tags with the same rules as a client', async () => {
    const todos = new Todos();
    const nodes = await cluster(todos, { identify: (secret) => (secret === '' ? null : { id: secret }) });
    nodes[1]!.sync.registerEntity('secretList', {
      params: z.object({ owner: z.string() }),
      authorize: allowOwner('owner'),
      fetch: (key) => todos.list(key.params.owner),
    });
    const seen: unknown[] = [];
    const stop = await nodes[1]!.sync.subscribe(listKey('ann'), (value) => seen.push(value), { secret: 'ann' });
    expect(seen).toEqual([[]]); // the snapshot
    const tags: string[] = [];
    const stopTag = await nodes[2]!.sync.subscribe(tagOf('ann'), (tag) => tags.push(tag.tag));

    const milk: Todo = { id: 't1', owner: 'ann', title: 'milk', done: false };
    await write(nodes[0]!, todos, milk);
    await expect.poll(() => seen.at(-1)).toEqual([milk]);
    await expect.poll(() => tags).toEqual(['todos/owner/ann']);

    await expect(
      nodes[1]!.sync.subscribe({ entity: 'secretList', params: { owner: 'bob' } }, () => {}, { secret: 'ann' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(nodes[1]!.sync.subscribe({ entity: 'nope', id: '1' }, () => {})).rejects.toMatchObject({ code: 'UNKNOWN_ENTITY' });

    stop();
    stopTag();
    await expect.poll(() => nodes[1]!.sync.stats().subscriptions).toBe(0);
    await write(nodes[0]!, todos, { ...milk, title: 'oat milk' });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(2);
    expect(tags).toHaveLength(1);
  });

  it('a throwing listener is reported and loses nothing: later changes still reach every subscriber', async () => {
    const todos = new Todos();
    const reported: { code: string; key: unknown }[] = [];
    const nodes = await cluster(todos, { onError: (error, ctx) => reported.push({ code: error.code, key: ctx.key }) });
    const seen: unknown[] = [];
    await nodes[1]!.sync.subscribe(listKey('ann'), () => {
      throw new Error('listener bug');
    });
    await nodes[1]!.sync.subscribe(listKey('ann'), (value) => seen.push(value));
    expect(reported).toEqual([{ code: 'INTERNAL', key: expect.objectContaining(listKey('ann')) }]); // the first snapshot

    const milk: Todo = { id: 't1', owner: 'ann', title: 'milk', done: false };
    await write(nodes[0]!, todos, milk);
    await expect.poll(() => seen.at(-1)).toEqual([milk]);
    await write(nodes[0]!, todos, { ...milk, done: true }); // the fetch slot was released
    await expect.poll(() => seen.at(-1)).toEqual([{ ...milk, done: true }]);
    expect(reported.map((r) => r.code)).toEqual(['INTERNAL', 'INTERNAL', 'INTERNAL']);
  });
});
