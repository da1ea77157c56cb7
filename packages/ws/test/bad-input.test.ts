import { randomBytes } from 'node:crypto';
import {
  createEntitySync,
  type EntityDefinition,
  type EntityKey,
  type EntitySync,
  type EntitySyncError,
  type EntitySyncOptions,
  type ErrorContext,
  keySubject,
  MemoryBroker,
} from '@entity-sync/core';
import type { AttachOptions } from '@entity-sync/ws';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type RunningServer, serve } from './support/server.js';
import { TestClient, Teardown } from '@entity-sync/testing';

// The process must survive everything in this file without a single unhandled rejection.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);

const leftovers = new Teardown();
afterEach(leftovers.run);
afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** What a handler throws: it must reach `onError` and never the wire. */
const LEAK = 'db password is hunter2';
const CONNECTED = { type: 'connected', protocol: 1 };

type Mode = 'v1' | 'legacy';

interface Fixture {
  sync: EntitySync;
  broker: MemoryBroker;
  server: RunningServer;
  store: Map<string, unknown>;
  errors: Array<{ error: EntitySyncError; ctx: ErrorContext }>;
  connect(mode: Mode): Promise<TestClient>;
}

let serial = 0;

async function setup(
  options: {
    sync?: EntitySyncOptions;
    attach?: Omit<AttachOptions, 'server' | 'noServer'>;
    entities?: Record<string, EntityDefinition>;
  } = {},
): Promise<Fixture> {
  const store = new Map<string, unknown>();
  const errors: Fixture['errors'] = [];
  const broker = new MemoryBroker();
  const sync = createEntitySync({ broker, onError: (error, ctx) => errors.push({ error, ctx }), ...options.sync });
  sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null });
  sync.registerEntity('whoami', { fetch: (_key, ctx) => ({ secret: ctx.secret }) });
  for (const [name, definition] of Object.entries(options.entities ?? {})) sync.registerEntity(name, definition);
  const server = await serve(sync, options.attach);
  leftovers.push(sync, server);
  return {
    sync,
    broker,
    server,
    store,
    errors,
    async connect(mode) {
      const c = await TestClient.connect(server.url, { protocol: mode });
      leftovers.push(c);
      if (mode === 'v1') expect(await c.next()).toEqual(CONNECTED);
      return c;
    },
  };
}

function sendRaw(c: TestClient, frame: string | Buffer): void {
  if (typeof frame === 'string') c.ws.send(frame);
  else c.ws.send(frame, { binary: true });
}

const sub = (entity: string, id: string): Record<string, unknown> => ({ action: 'subscribe', body: { entity, id } });

/** v1: a subscribe still works afterwards: snapshot, then ack. */
async function expectUsableV1(f: Fixture, c: TestClient, id = `ok-${++serial}`): Promise<void> {
  f.store.set(id, { id });
  c.send({ ...sub('items', id), ref: `usable-${id}` });
  expect(await c.next()).toEqual({ type: 'data', entity: 'items', id, data: { id } });
  expect(await c.next()).toEqual({ type: 'ack', ref: `usable-${id}` });
}

/** Waits until the bus holds `key` for this node: a legacy subscribe to a fresh key is then active. */
async function busHolds(f: Fixture, key: EntityKey): Promise<void> {
  await vi.waitFor(() => expect(f.broker.subscriberCount(keySubject('entity-sync', key))).toBe(1));
}

/**
 * Legacy barrier: subscribes to a fresh key, notifies it, and checks that the client got exactly
 * `expected` frames before (usually none) and then that one value frame: nothing else was sent.
 */
async function expectOnlyValueLegacy(f: Fixture, c: TestClient, expected: string[] = []): Promise<void> {
  const id = `ok-${++serial}`;
  const key = { entity: 'items', id };
  c.send(sub('items', id));
  await busHolds(f, key);
  f.store.set(id, { id, v: 1 });
  await f.sync.notifyAllOfChange(key);
  const value = JSON.stringify({ id, v: 1 });
  await vi.waitFor(() => expect(c.frames).toContain(value));
  expect(c.frames).toEqual([...expected, value]);
}

// ---------------------------------------------------------------------------------------------
// The table: one frame each, the v1 reply, legacy silence.

interface Row {
  name: string;
  frame: string | Buffer;
  v1: Array<Record<string, unknown>>;
}

const bad = (message: string, ref?: string | number): Record<string, unknown> => ({
  type: 'error',
  code: 'BAD_MESSAGE',
  message,
  ...(ref === undefined ? {} : { ref }),
});
const invalidKey = (message: string, ref: string | number, key: { entity?: string; id?: string }): Record<string, unknown> => ({
  type: 'error',
  code: 'INVALID_KEY',
  message,
  ref,
  ...key,
});
const BODY = 'body must be a key {"entity","id"} or, in v1, an array of keys';
const ENTITY = 'entity must match ^[A-Za-z0-9_-]{1,64}$';
const ID_BYTES = 'id must be at most 256 bytes';
const REF = 'ref must be a string of at most 128 characters or a finite number';
const j = (value: unknown): string => JSON.stringify(value);

const rows: Row[] = [
  { name: 'invalid JSON', frame: 'not json', v1: [bad('frame is not valid JSON')] },
  { name: 'truncated JSON', frame: '{"action":"subscribe","body":{"entity":"items"', v1: [bad('frame is not valid JSON')] },
  { name: 'empty frame', frame: '', v1: [bad('frame is not valid JSON')] },
  {
    name: 'a JSON array',
    frame: '[{"action":"subscribe","body":{"entity":"items","id":"1"}}]',
    v1: [bad('message must be a JSON object')],
  },
  { name: 'a JSON number', frame: '42', v1: [bad('message must be a JSON object')] },
  { name: 'a JSON string', frame: '"subscribe"', v1: [bad('message must be a JSON object')] },
  { name: 'a JSON boolean', frame: 'true', v1: [bad('message must be a JSON object')] },
  { name: 'unknown action', frame: j({ action: 'dance', ref: 7 }), v1: [bad('unknown action "dance"', 7)] },
  {
    name: 'non-string action',
    frame: j({ action: 42, body: { entity: 'items', id: '1' }, ref: 'a' }),
    v1: [bad('action must be a string', 'a')],
  },
  { name: 'subscribe without body', frame: j({ action: 'subscribe', ref: 1 }), v1: [bad(BODY, 1)] },
  { name: 'subscribe with a string body', frame: j({ action: 'subscribe', body: 'items/1', ref: 2 }), v1: [bad(BODY, 2)] },
  { name: 'subscribe with a null body', frame: j({ action: 'subscribe', body: null, ref: 3 }), v1: [bad(BODY, 3)] },
  { name: 'unsubscribe with a number body', frame: j({ action: 'unsubscribe', body: 5, ref: 4 }), v1: [bad(BODY, 4)] },
  {
    name: 'subscribe with an empty key',
    frame: j({ action: 'subscribe', body: {}, ref: 5 }),
    v1: [invalidKey('entity must be a string', 5, {})],
  },
  {
    name: 'subscribe without id',
    frame: j({ action: 'subscribe', body: { entity: 'items' }, ref: 6 }),
    v1: [invalidKey('id must be a string', 6, { entity: 'items' })],
  },
  {
    name: 'secret with a number body',
    frame: j({ action: 'secret', body: 42, ref: 'sec' }),
    v1: [bad('secret body must be a string or null', 'sec')],
  },
  {
    name: 'numeric id',
    frame: j({ action: 'subscribe', body: { entity: 'items', id: 100 }, ref: 8 }),
    v1: [invalidKey('id must be a string', 8, { entity: 'items' })],
  },
  {
    name: 'numeric id (unsubscribe)',
    frame: j({ action: 'unsubscribe', body: { entity: 'items', id: 100 }, ref: 9 }),
    v1: [invalidKey('id must be a string', 9, { entity: 'items' })],
  },
  {
    name: 'entity name with a dot',
    frame: j({ action: 'subscribe', body: { entity: 'it.ems', id: '1' }, ref: 10 }),
    v1: [invalidKey(ENTITY, 10, { entity: 'it.ems', id: '1' })],
  },
  {
    name: 'empty entity name',
    frame: j({ action: 'subscribe', body: { entity: '', id: '1' }, ref: 11 }),
    v1: [invalidKey(ENTITY, 11, { entity: '', id: '1' })],
  },
  {
    name: 'non-ASCII entity name',
    frame: j({ action: 'subscribe', body: { entity: 'ité', id: '1' }, ref: 12 }),
    v1: [invalidKey(ENTITY, 12, { entity: 'ité', id: '1' })],
  },
  {
    name: 'entity name of 65 characters',
    frame: j({ action: 'subscribe', body: { entity: 'x'.repeat(65), id: '1' }, ref: 13 }),
    // The echo of a too-long name is truncated.
    v1: [{ type: 'error', code: 'INVALID_KEY', message: ENTITY, ref: 13, entity: expect.stringMatching(/^x{64}/), id: '1' }],
  },
  {
    name: 'id of 257 bytes',
    frame: j({ action: 'subscribe', body: { entity: 'items', id: 'a'.repeat(257) }, ref: 14 }),
    v1: [invalidKey(ID_BYTES, 14, { entity: 'items', id: 'a'.repeat(257) })],
  },
  {
    name: 'id of 129 two-byte characters (258 bytes)',
    frame: j({ action: 'subscribe', body: { entity: 'items', id: 'é'.repeat(129) }, ref: 15 }),
    v1: [invalidKey(ID_BYTES, 15, { entity: 'items', id: 'é'.repeat(129) })],
  },
  {
    name: 'id of 64 emoji and one byte (257 bytes)',
    frame: j({ action: 'subscribe', body: { entity: 'items', id: `${'😀'.repeat(64)}a` }, ref: 16 }),
    v1: [invalidKey(ID_BYTES, 16, { entity: 'items', id: `${'😀'.repeat(64)}a` })],
  },
  {
    name: 'unregistered entity',
    frame: j({ action: 'subscribe', body: { entity: 'nope', id: '1' }, ref: 17 }),
    v1: [{ type: 'error', code: 'UNKNOWN_ENTITY', message: 'no entity type "nope" is registered', ref: 17, entity: 'nope', id: '1' }],
  },
  {
    name: 'secret over 8 KiB',
    frame: j({ action: 'secret', body: 's'.repeat(8 * 1024 + 1), ref: 18 }),
    v1: [{ type: 'error', code: 'INVALID_SECRET', message: 'secret must be at most 8192 characters', ref: 18 }],
  },
  { name: 'ref of type object', frame: j({ ...sub('items', 'r1'), ref: { n: 1 } }), v1: [bad(REF)] },
  { name: 'ref of type boolean', frame: j({ ...sub('items', 'r2'), ref: true }), v1: [bad(REF)] },
  { name: 'ref of type array', frame: j({ ...sub('items', 'r3'), ref: [1] }), v1: [bad(REF)] },
  { name: 'ref longer than 128 characters', frame: j({ ...sub('items', 'r4'), ref: 'r'.repeat(129) }), v1: [bad(REF)] },
  { name: 'non-finite ref', frame: '{"action":"subscribe","body":{"entity":"items","id":"r5"},"ref":1e400}', v1: [bad(REF)] },
  { name: 'no action and no pass-through hook', frame: j({ hello: 'world', ref: 'pt' }), v1: [bad('message has no action', 'pt')] },
  { name: 'literal null and no pass-through hook', frame: 'null', v1: [bad('message has no action')] },
  {
    name: 'the same bad subscribe as a binary frame',
    frame: Buffer.from(j({ action: 'subscribe', body: { entity: 'items', id: 1 }, ref: 19 })),
    v1: [invalidKey('id must be a string', 19, { entity: 'items' })],
  },
];

describe('bad input, v1: an exact error frame, and the connection stays usable', () => {
  it.each(rows)('$name', async ({ frame, v1 }) => {
    const f = await setup();
    const c = await f.connect('v1');
    sendRaw(c, frame);
    for (const expected of v1) expect(await c.next()).toEqual(expected);
    await expectUsableV1(f, c);
    // Nothing else was sent, and the bad message left no subscription behind.
    expect(c.messages).toHaveLength(1 + v1.length + 2);
    expect(f.sync.stats().subscriptions).toBe(1);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});

describe('bad input, legacy: nothing at all is sent back, and the connection stays usable', () => {
  // `ref` is v1 only; legacy mode ignores it like the Go library ignores any unknown field.
  const legacyRows = rows.filter((row) => !row.name.includes('ref'));

  it.each(legacyRows)('$name', async ({ frame }) => {
    const f = await setup();
    const c = await f.connect('legacy');
    sendRaw(c, frame);
    await expectOnlyValueLegacy(f, c);
    expect(f.sync.stats().subscriptions).toBe(1);
  });

  it('an array body (a v1 batch) is dropped as a whole', async () => {
    const f = await setup();
    const c = await f.connect('legacy');
    f.store.set('b1', { id: 'b1' });
    c.send({ action: 'subscribe', body: [{ entity: 'items', id: 'b1' }] });
    await expectOnlyValueLegacy(f, c);
    await f.sync.notifyAllOfChange({ entity: 'items', id: 'b1' });
    await expectOnlyValueLegacy(f, c, c.frames.slice());
    expect(c.frames.some((frame) => frame.includes('b1'))).toBe(false);
  });

  it('a ref of any type is ignored and the message still acts, as in Go', async () => {
    const f = await setup();
    const c = await f.connect('legacy');
    c.send({ ...sub('items', 'r1'), ref: { n: 1 } });
    await busHolds(f, { entity: 'items', id: 'r1' });
    f.store.set('r1', { id: 'r1' });
    await f.sync.notifyAllOfChange({ entity: 'items', id: 'r1' });
    await vi.waitFor(() => expect(c.frames).toEqual(['{"id":"r1"}']));
    await expectOnlyValueLegacy(f, c, ['{"id":"r1"}']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('limits', () => {
  it('v1: over maxSubscriptionsPerConnection gets TOO_MANY_SUBSCRIPTIONS; unsubscribing makes room', async () => {
    const f = await setup({ sync: { maxSubscriptionsPerConnection: 2 } });
    const c = await f.connect('v1');
    expect(await c.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
    expect(await c.request(sub('items', '2'), 2)).toEqual({ type: 'ack', ref: 2 });
    // Subscribing again to a held key does not count.
    expect(await c.request(sub('items', '2'), 3)).toEqual({ type: 'ack', ref: 3 });
    expect(await c.request(sub('items', '3'), 4)).toEqual({
      type: 'error',
      ref: 4,
      code: 'TOO_MANY_SUBSCRIPTIONS',
      message: 'at most 2 subscriptions per connection',
      entity: 'items',
      id: '3',
    });
    expect(f.sync.stats().subscriptions).toBe(2);
    // A batch that crosses the limit: the keys that fit are taken, the rest get errors.
    expect(await c.request({ action: 'unsubscribe', body: { entity: 'items', id: '1' } }, 5)).toEqual({ type: 'ack', ref: 5 });
    c.send({
      action: 'subscribe',
      body: [
        { entity: 'items', id: '3' },
        { entity: 'items', id: '4' },
      ],
      ref: 6,
    });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: '3', data: null });
    expect(await c.next()).toEqual({
      type: 'error',
      ref: 6,
      code: 'TOO_MANY_SUBSCRIPTIONS',
      message: 'at most 2 subscriptions per connection',
      entity: 'items',
      id: '4',
    });
    expect(await c.next()).toEqual({ type: 'ack', ref: 6 });
    expect(f.sync.stats().subscriptions).toBe(2);
  });

  it('legacy: a subscribe over the limit is dropped silently; unsubscribing makes room', async () => {
    const f = await setup({ sync: { maxSubscriptionsPerConnection: 2 } });
    const c = await f.connect('legacy');
    const keys = ['1', '2', '3'].map((id) => ({ entity: 'items', id }));
    for (const key of keys) c.send(sub(key.entity, key.id));
    await busHolds(f, keys[1]!);
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(2));
    for (const key of keys) f.store.set(key.id, { id: key.id });
    await f.sync.notifyAllOfChange(keys);
    await vi.waitFor(() => expect(c.frames).toHaveLength(2));
    expect([...c.frames].sort()).toEqual(['{"id":"1"}', '{"id":"2"}']);
    c.send({ action: 'unsubscribe', body: keys[0] });
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(1));
    await expectOnlyValueLegacy(f, c, c.frames.slice());
  });

  describe.each<Mode>(['v1', 'legacy'])('%s: maxPayload', (mode) => {
    it('a frame over maxPayload closes with 1009; one of exactly maxPayload is fine; others are unaffected', async () => {
      const f = await setup({ attach: { maxPayload: 1024 } });
      const other = await f.connect(mode);
      const c = await f.connect(mode);
      const exact = j({ action: 'secret', body: 'x'.repeat(1024 - j({ action: 'secret', body: '' }).length) });
      expect(Buffer.byteLength(exact)).toBe(1024);
      c.send(exact);
      if (mode === 'v1') await expectUsableV1(f, c);
      else await expectOnlyValueLegacy(f, c);
      c.send(j({ action: 'secret', body: 'x'.repeat(1024) }));
      expect((await c.closed).code).toBe(1009);
      await vi.waitFor(() => expect(f.sync.stats().connections).toBe(1));
      if (mode === 'v1') await expectUsableV1(f, other);
      else await expectOnlyValueLegacy(f, other);
    });

    it('a binary frame over maxPayload closes with 1009 too', async () => {
      const f = await setup({ attach: { maxPayload: 100 } });
      const c = await f.connect(mode);
      sendRaw(c, randomBytes(101));
      expect((await c.closed).code).toBe(1009);
    });
  });

  it('v1: a secret over 8 KiB gets INVALID_SECRET and the old secret stays', async () => {
    const f = await setup();
    const c = await f.connect('v1');
    expect(await c.request({ action: 'secret', body: 'old' }, 1)).toEqual({ type: 'ack', ref: 1 });
    expect(await c.request({ action: 'secret', body: 'é'.repeat(8 * 1024 + 1) }, 2)).toEqual({
      type: 'error',
      ref: 2,
      code: 'INVALID_SECRET',
      message: 'secret must be at most 8192 characters',
    });
    c.send({ ...sub('whoami', 'me'), ref: 3 });
    expect(await c.next()).toEqual({ type: 'data', entity: 'whoami', id: 'me', data: { secret: 'old' } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 3 });
    // A secret of exactly 8 KiB is fine.
    const long = 'k'.repeat(8 * 1024);
    expect(await c.request({ action: 'secret', body: long }, 4)).toEqual({ type: 'ack', ref: 4 });
    expect(await c.next((frame) => frame.type === 'data')).toEqual({ type: 'data', entity: 'whoami', id: 'me', data: { secret: long } });
  });

  it('legacy: a secret over 8 KiB is dropped silently and the old secret stays', async () => {
    const f = await setup();
    const c = await f.connect('legacy');
    c.send({ action: 'secret', body: 'old' });
    c.send({ action: 'secret', body: 's'.repeat(8 * 1024 + 1) });
    const key = { entity: 'whoami', id: 'me' };
    c.send(sub(key.entity, key.id));
    await busHolds(f, key);
    await f.sync.notifyAllOfChange(key);
    await vi.waitFor(() => expect(c.frames).toEqual(['{"secret":"old"}']));
    await expectOnlyValueLegacy(f, c, ['{"secret":"old"}']);
  });
});

describe('batches (v1)', () => {
  it('one bad key among good ones: the good ones get data and one ack, the bad one one error', async () => {
    const f = await setup();
    f.store.set('a', { id: 'a' });
    f.store.set('b', { id: 'b' });
    const c = await f.connect('v1');
    c.send({
      action: 'subscribe',
      body: [
        { entity: 'items', id: 'a' },
        { entity: 'items', id: 7 },
        { entity: 'items', id: 'b' },
        { entity: 'nope', id: 'x' },
        { entity: 'items', id: 'z'.repeat(300) },
      ],
      ref: 'batch',
    });
    const frames = [await c.next(), await c.next(), await c.next(), await c.next(), await c.next(), await c.next()];
    expect(frames.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { type: 'data', entity: 'items', id: 'a', data: { id: 'a' } },
        { type: 'data', entity: 'items', id: 'b', data: { id: 'b' } },
      ]),
    );
    expect(frames.slice(2)).toEqual([
      { type: 'error', ref: 'batch', code: 'INVALID_KEY', message: 'id must be a string', entity: 'items' },
      { type: 'error', ref: 'batch', code: 'UNKNOWN_ENTITY', message: 'no entity type "nope" is registered', entity: 'nope', id: 'x' },
      { type: 'error', ref: 'batch', code: 'INVALID_KEY', message: ID_BYTES, entity: 'items', id: 'z'.repeat(300) },
      { type: 'ack', ref: 'batch' },
    ]);
    expect(f.sync.stats().subscriptions).toBe(2);
    // The good ones are live.
    f.store.set('b', { id: 'b', v: 2 });
    await f.sync.notifyAllOfChange({ entity: 'items', id: 'b' });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: 'b', data: { id: 'b', v: 2 } });
  });

  it('every key bad: one error each and no ack', async () => {
    const f = await setup();
    const c = await f.connect('v1');
    c.send({ action: 'subscribe', body: [{ entity: 'a.b', id: '1' }, 'x'], ref: 'all-bad' });
    expect(await c.next()).toEqual({ type: 'error', ref: 'all-bad', code: 'INVALID_KEY', message: ENTITY, entity: 'a.b', id: '1' });
    expect(await c.next()).toEqual({
      type: 'error',
      ref: 'all-bad',
      code: 'INVALID_KEY',
      message: 'key must be an object {"entity","id"}',
    });
    await expectUsableV1(f, c);
    expect(c.messages).toHaveLength(5);
  });

  it('an empty batch is a BAD_MESSAGE', async () => {
    const f = await setup();
    const c = await f.connect('v1');
    expect(await c.request({ action: 'subscribe', body: [] }, 1)).toEqual(bad(BODY, 1));
    await expectUsableV1(f, c);
  });
});

describe.each<Mode>(['v1', 'legacy'])('%s: garbage', (mode) => {
  it('random bytes as binary frames', async () => {
    const f = await setup();
    const c = await f.connect(mode);
    const count = 50;
    for (let i = 0; i < count; i++) sendRaw(c, randomBytes(1 + ((i * 37) % 200)));
    if (mode === 'v1') {
      for (let i = 0; i < count; i++) {
        const frame = await c.next();
        expect(frame).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
        expect(frame.ref).toBeUndefined();
      }
      await expectUsableV1(f, c);
      expect(c.messages).toHaveLength(1 + count + 2);
    } else {
      await expectOnlyValueLegacy(f, c);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Handlers that throw or hang.

describe('a throwing fetch handler', () => {
  it('v1 gets FETCH_FAILED without the thrown message; onError gets the cause; nothing else is affected', async () => {
    let failing = true;
    const f = await setup({
      entities: {
        broken: {
          fetch: (key) => {
            if (failing) throw new Error(LEAK);
            return { id: key.id, fixed: true };
          },
        },
      },
    });
    const c = await f.connect('v1');
    const bystander = await f.connect('v1');
    const legacy = await f.connect('legacy');
    expect(await bystander.request(sub('items', 'x'), 'b1')).toEqual({ type: 'ack', ref: 'b1' });

    expect(await c.request(sub('broken', '1'), 1)).toEqual({
      type: 'error',
      ref: 1,
      code: 'FETCH_FAILED',
      message: 'fetching the entity failed',
      entity: 'broken',
      id: '1',
    });
    const reported = f.errors.find((e) => e.error.code === 'FETCH_FAILED');
    expect(reported?.error.cause).toBeInstanceOf(Error);
    expect((reported!.error.cause as Error).message).toBe(LEAK);
    expect(reported?.ctx.key).toEqual({ entity: 'broken', id: '1' });

    // The same connection and other connections carry on.
    await expectUsableV1(f, c);
    await expectUsableV1(f, bystander);

    // The subscription is held: a change fails again (an error without ref), then recovers.
    legacy.send(sub('broken', '1'));
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(5));
    const failed = f.sync.stats().fetchesFailed;
    await f.sync.notifyAllOfChange({ entity: 'broken', id: '1' });
    expect(await c.next()).toEqual({
      type: 'error',
      code: 'FETCH_FAILED',
      message: 'fetching the entity failed',
      entity: 'broken',
      id: '1',
    });
    await vi.waitFor(() => expect(f.sync.stats().fetchesFailed).toBe(failed + 2));
    failing = false;
    await f.sync.notifyAllOfChange({ entity: 'broken', id: '1' });
    expect(await c.next()).toEqual({ type: 'data', entity: 'broken', id: '1', data: { id: '1', fixed: true } });
    await vi.waitFor(() => expect(legacy.frames).toEqual(['{"id":"1","fixed":true}']));

    for (const client of [c, bystander, legacy]) expect(client.frames.join('\n')).not.toContain('hunter2');
  });

  it('a thrown non-Error, a rejected promise and an unserializable value are FETCH_FAILED too', async () => {
    const f = await setup({
      entities: {
        throwsString: { fetch: () => Promise.reject(LEAK) },
        throwsUndefined: {
          fetch: () => {
            throw undefined; // eslint-disable-line @typescript-eslint/only-throw-error
          },
        },
        bigint: { fetch: () => ({ n: 10n }) },
        circular: {
          fetch: () => {
            const value: Record<string, unknown> = {};
            value['self'] = value;
            return value;
          },
        },
        fn: { fetch: () => () => 1 },
      },
    });
    const c = await f.connect('v1');
    for (const entity of ['throwsString', 'throwsUndefined', 'bigint', 'circular', 'fn']) {
      expect(await c.request(sub(entity, '1'), entity)).toEqual({
        type: 'error',
        ref: entity,
        code: 'FETCH_FAILED',
        message: 'fetching the entity failed',
        entity,
        id: '1',
      });
    }
    await expectUsableV1(f, c);
    expect(f.errors.filter((e) => e.error.code === 'FETCH_FAILED')).toHaveLength(5);
    expect(c.frames.join('\n')).not.toContain('hunter2');
  });
});

describe('a hanging fetch handler', () => {
  it('v1 gets FETCH_TIMEOUT; the slot is released, so other keys still get through', async () => {
    const f = await setup({
      sync: { fetchTimeoutMs: 100, maxConcurrentFetches: 1 },
      entities: { hanging: { fetch: () => new Promise(() => {}) } },
    });
    const c = await f.connect('v1');
    const other = await f.connect('v1');
    c.send({ ...sub('hanging', '1'), ref: 'h' });
    // Queued behind the hanging fetch, served once it times out.
    await expectUsableV1(f, other);
    expect(await c.next()).toEqual({
      type: 'error',
      ref: 'h',
      code: 'FETCH_TIMEOUT',
      message: 'fetching the entity timed out',
      entity: 'hanging',
      id: '1',
    });
    expect(f.errors.map((e) => e.error.code)).toContain('FETCH_TIMEOUT');
    await expectUsableV1(f, c);
    // Held: a change times out again, as a background error.
    await f.sync.notifyAllOfChange({ entity: 'hanging', id: '1' });
    expect(await c.next()).toEqual({
      type: 'error',
      code: 'FETCH_TIMEOUT',
      message: 'fetching the entity timed out',
      entity: 'hanging',
      id: '1',
    });
  });

  it('legacy hears nothing about it', async () => {
    const f = await setup({ sync: { fetchTimeoutMs: 50 }, entities: { hanging: { fetch: () => new Promise(() => {}) } } });
    const c = await f.connect('legacy');
    const key = { entity: 'hanging', id: '1' };
    c.send(sub(key.entity, key.id));
    await busHolds(f, key);
    await f.sync.notifyAllOfChange(key);
    await vi.waitFor(() => expect(f.errors.map((e) => e.error.code)).toContain('FETCH_TIMEOUT'));
    await expectOnlyValueLegacy(f, c);
  });
});

describe('a throwing authorize', () => {
  it.each([
    [
      'throws',
      (): boolean => {
        throw new Error(LEAK);
      },
    ],
    ['rejects', (): Promise<boolean> => Promise.reject(new Error(LEAK))],
  ])('v1 gets INTERNAL when it %s; the key is not held; onError gets the cause', async (_name, authorize) => {
    const f = await setup({ entities: { guarded: { fetch: () => ({ secret: true }), authorize } } });
    const c = await f.connect('v1');
    expect(await c.request(sub('guarded', '1'), 'g')).toEqual({
      type: 'error',
      ref: 'g',
      code: 'INTERNAL',
      message: 'internal error',
      entity: 'guarded',
      id: '1',
    });
    const reported = f.errors.find((e) => e.error.code === 'INTERNAL');
    expect((reported!.error.cause as Error).message).toBe(LEAK);
    expect(reported?.ctx).toMatchObject({ key: { entity: 'guarded', id: '1' } });
    await expectUsableV1(f, c);
    expect(f.sync.stats().subscriptions).toBe(1);
    expect(c.frames.join('\n')).not.toContain('hunter2');
  });

  it('legacy hears nothing', async () => {
    const f = await setup({
      entities: {
        guarded: {
          fetch: () => ({ secret: true }),
          authorize: () => {
            throw new Error(LEAK);
          },
        },
      },
    });
    const c = await f.connect('legacy');
    c.send(sub('guarded', '1'));
    await vi.waitFor(() => expect(f.errors).toHaveLength(1));
    await expectOnlyValueLegacy(f, c);
  });
});

describe('a throwing pass-through hook', () => {
  const hooks = {
    throws: (): void => {
      throw new Error(LEAK);
    },
    rejects: (): Promise<void> => Promise.reject(new Error(LEAK)),
  };

  it.each(Object.entries(hooks))('v1 gets INTERNAL when it %s; onError gets the cause', async (_name, onPassThrough) => {
    const f = await setup({ sync: { onPassThrough } });
    const c = await f.connect('v1');
    expect(await c.request({ hello: 'world' }, 'p')).toEqual({ type: 'error', ref: 'p', code: 'INTERNAL', message: 'internal error' });
    sendRaw(c, 'null');
    expect(await c.next()).toEqual({ type: 'error', code: 'INTERNAL', message: 'internal error' });
    expect(f.errors).toHaveLength(2);
    expect((f.errors[0]!.error.cause as Error).message).toBe(LEAK);
    await expectUsableV1(f, c);
    expect(c.frames.join('\n')).not.toContain('hunter2');
  });

  it.each(Object.entries(hooks))('legacy hears nothing when it %s', async (_name, onPassThrough) => {
    const f = await setup({ sync: { onPassThrough } });
    const c = await f.connect('legacy');
    c.send({ hello: 'world' });
    sendRaw(c, 'null');
    await vi.waitFor(() => expect(f.errors).toHaveLength(2));
    await expectOnlyValueLegacy(f, c);
  });
});

describe('abrupt clients', () => {
  it.each<Mode>(['v1', 'legacy'])('%s: disconnecting while a subscribe waits for authorize leaves nothing behind', async (mode) => {
    let release: (allowed: boolean) => void = () => {};
    const gate = new Promise<boolean>((resolve) => (release = resolve));
    // resumeCacheMs 0: the bus subscription goes with the last subscriber, without lingering.
    const f = await setup({ sync: { resumeCacheMs: 0 }, entities: { gated: { fetch: () => ({ ok: true }), authorize: () => gate } } });
    const c = await f.connect(mode);
    c.send({ ...sub('gated', '1'), ref: 1 });
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(1));
    c.ws.terminate();
    await vi.waitFor(() => expect(f.sync.stats().connections).toBe(0));
    release(true);
    await vi.waitFor(() => expect(f.sync.stats()).toMatchObject({ subscriptions: 0, keys: 0, busSubscriptions: 0 }));
    await f.sync.notifyAllOfChange({ entity: 'gated', id: '1' });
    expect(f.errors).toEqual([]);
    const next = await f.connect(mode);
    if (mode === 'v1') await expectUsableV1(f, next);
    else await expectOnlyValueLegacy(f, next);
  });

  it('v1: the same key twice in one batch gets one snapshot and one ack', async () => {
    const f = await setup();
    f.store.set('d', { id: 'd' });
    const c = await f.connect('v1');
    c.send({
      action: 'subscribe',
      body: [
        { entity: 'items', id: 'd' },
        { entity: 'items', id: 'd' },
      ],
      ref: 'dup',
    });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: 'd', data: { id: 'd' } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 'dup' });
    await expectUsableV1(f, c);
    expect(c.messages).toHaveLength(5);
    expect(f.sync.stats().subscriptions).toBe(2);
  });
});
