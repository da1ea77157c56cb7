import { MemoryBroker } from '@entity-sync/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Answer, post, rawRequest, request } from './support/http.js';
import { type NotifyServerOptions, type NotifyServer, startNotifyServer, TOKEN } from './support/notify-server.js';

/**
 * One test per status of the notify endpoint, on node:http with a real node and real WebSocket
 * clients. The process must survive all of it without an unhandled rejection or exception.
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);

const leftovers: NotifyServer[] = [];
afterEach(async () => {
  for (const server of leftovers.splice(0)) await server.close();
});
afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function start(options: NotifyServerOptions = {}): Promise<NotifyServer> {
  const server = await startNotifyServer(options);
  leftovers.push(server);
  return server;
}

function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(typeof answer.body.error.message).toBe('string');
}

describe('202', () => {
  it('notifies the keys: subscribed clients receive the new values', async () => {
    const server = await start();
    server.store.set('1', { v: 1 });
    server.store.set('2', { v: 1 });
    const [one, two] = [await server.subscribe('1'), await server.subscribe('2')];
    await one.waitFor((f) => f.type === 'data' && f.data.v === 1);
    await two.waitFor((f) => f.type === 'data' && f.data.v === 1);
    server.store.set('1', { v: 2 });
    server.store.set('2', { v: 3 });
    const answer = await post(server.notifyUrl, {
      keys: [
        { entity: 'items', id: '1' },
        { entity: 'items', id: '2' },
      ],
    });
    expect(answer).toMatchObject({ status: 202, body: { notified: 2 } });
    await one.waitFor((f) => f.type === 'data' && f.id === '1' && f.data.v === 2);
    await two.waitFor((f) => f.type === 'data' && f.id === '2' && f.data.v === 3);
  });

  it('notifies tags: every value whose fetch declared the tag is fetched again, on every node, beside plain keys', async () => {
    const broker = new MemoryBroker();
    const server = await start({ sync: { broker } });
    const other = await start({ sync: { broker } }); // its clients hear the tag over the bus
    const lists = new Map([['7', ['milk']]]);
    other.sync.registerEntity('todoList', {
      fetch: (key, ctx) => {
        ctx.dependsOn({ tag: `todos/owner/${key.id}` });
        return lists.get(key.id) ?? [];
      },
    });
    server.store.set('1', { v: 1 });
    const list = await other.subscribe('7', 'todoList');
    const item = await server.subscribe('1');
    await list.waitFor((f) => f.type === 'data' && f.data.length === 1);
    lists.set('7', ['milk', 'eggs']);
    server.store.set('1', { v: 2 });
    const answer = await post(server.notifyUrl, { keys: [{ tag: 'todos/owner/7' }, { entity: 'items', id: '1' }] });
    expect(answer).toMatchObject({ status: 202, body: { notified: 2 } });
    await list.waitFor((f) => f.type === 'data' && f.data.length === 2);
    await item.waitFor((f) => f.type === 'data' && f.data.v === 2);
    // A tag no value depends on is accepted too: it reaches nobody.
    expect(await post(server.notifyUrl, { keys: [{ tag: 'todos/owner/8' }] })).toMatchObject({ status: 202, body: { notified: 1 } });
  });

  it('resyncs: {"resync": true} refetches every held key', async () => {
    const server = await start();
    server.store.set('1', { v: 1 });
    const client = await server.subscribe('1');
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1);
    server.store.set('1', { v: 2 }); // written without a notify: only a resync repairs it
    expect(await post(server.notifyUrl, { resync: true })).toMatchObject({ status: 202, body: { resync: true } });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 2);
  });

  it('accepts an empty batch, and an async verify that says yes', async () => {
    const server = await start({ handler: { verify: async (req) => req.headers['x-producer'] === 'cron' } });
    expect(await post(server.notifyUrl, { keys: [] }, { 'x-producer': 'cron' })).toMatchObject({ status: 202, body: { notified: 0 } });
  });
});

describe('400', () => {
  it('refuses bad JSON and says why', async () => {
    const server = await start();
    const cases: Array<[string | Uint8Array<ArrayBuffer>, string, RegExp]> = [
      ['{"keys": [', 'BAD_JSON', /not valid JSON/],
      ['', 'BAD_JSON', /empty/],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'BAD_JSON', /UTF-8/],
      ['[]', 'BAD_BODY', /the body is an array/],
      ['"keys"', 'BAD_BODY', /expected \{"keys"/],
      ['{}', 'BAD_BODY', /expected \{"keys"/],
      ['{"keys": {"entity": "items", "id": "1"}}', 'BAD_BODY', /"keys" must be an array/],
      ['{"resync": 1}', 'BAD_BODY', /"resync" must be true/],
      ['{"resync": true, "keys": []}', 'BAD_BODY', /either "keys" or "resync"/],
    ];
    for (const [body, code, message] of cases) {
      const answer = await request(server.notifyUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      expectError(answer, 400, code);
      expect(answer.body.error.message).toMatch(message);
    }
  });

  it('names the first bad key or tag by index, with the core rules', async () => {
    const server = await start();
    const good = { entity: 'items', id: '1' };
    const cases: Array<[unknown, RegExp]> = [
      [{ entity: 'items', id: 7 }, /"id" must be a string, got number 7/],
      [{ entity: 'a.b', id: '1' }, /entity must match/],
      [{ entity: 'items', id: 'x'.repeat(257) }, /id must be at most 256 bytes/],
      [{ tag: '' }, /a tag is a non-empty string, got string ""/],
      [{ tag: 7 }, /a tag is a non-empty string, got number 7/],
      [{ tag: 'é'.repeat(129) }, /a tag must be at most 256 bytes, got 258 bytes/],
      [{ tag: 'team:7', entity: 'items', id: '1' }, /either a key or a tag, not both/],
      ['items/1', /an entry is a key .* or a tag/],
      [null, /an entry is a key .*got null/],
    ];
    for (const [bad, message] of cases) {
      const answer = await post(server.notifyUrl, { keys: [good, good, bad, { entity: '' }] });
      expectError(answer, 400, 'INVALID_KEY');
      expect(answer.body.error.index).toBe(2);
      expect(answer.body.error.message).toMatch(/^keys\[2\]: /);
      expect(answer.body.error.message).toMatch(message);
    }
  });
});

describe('401', () => {
  it('refuses a missing or wrong token, and a verify that says no', async () => {
    const server = await start({ handler: { tokens: ['old-token', TOKEN] } });
    const keys = { keys: [{ entity: 'items', id: '1' }] };
    for (const authorization of [undefined, '', 'Bearer', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`]) {
      const headers = { 'content-type': 'application/json', ...(authorization !== undefined && { authorization }) };
      const answer = await request(server.notifyUrl, { method: 'POST', headers, body: JSON.stringify(keys) });
      expectError(answer, 401, 'UNAUTHORIZED');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
    // Both tokens of a rotation work, and the scheme is case-insensitive.
    expect((await post(server.notifyUrl, keys, { authorization: 'bearer old-token' })).status).toBe(202);
    expect((await post(server.notifyUrl, keys)).status).toBe(202);

    const closed = await start({ handler: { verify: () => false } });
    expectError(await post(closed.notifyUrl, keys), 401, 'UNAUTHORIZED');
  });
});

describe('405', () => {
  it('refuses every method but POST, with Allow: POST', async () => {
    const server = await start();
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const answer = await request(server.notifyUrl, { method });
      expectError(answer, 405, 'METHOD_NOT_ALLOWED');
      expect(answer.headers.get('allow')).toBe('POST');
    }
  });
});

describe('408', () => {
  it('gives up on a body that trickles in and never ends', async () => {
    const server = await start({ handler: { bodyTimeoutMs: 300 } });
    const head = `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"keys":[`;
    const exchange = rawRequest(server.port, head, () => ' ', 20);
    const response = await exchange.response;
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(response).toContain('"code":"BODY_TIMEOUT"');
    expect(exchange.written()).toBeLessThan(100_000);
  });
});

describe('413', () => {
  it('refuses a declared Content-Length past maxBodyBytes before reading any of it', async () => {
    const server = await start({ handler: { maxBodyBytes: 1000 } });
    const head = `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1001\r\n\r\n`;
    const exchange = rawRequest(server.port, head, undefined);
    const response = await exchange.response;
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('{"error":{"code":"BODY_TOO_LARGE","message":"the body is longer than 1000 bytes","limit":1000}}');
    // At the limit it is fine.
    const fits = JSON.stringify({ keys: [{ entity: 'items', id: 'x'.repeat(1000 - 37) }] });
    expect(Buffer.byteLength(fits)).toBe(1000);
    expect((await post(server.notifyUrl, fits)).body.error?.code).toBe('INVALID_KEY');
  });

  it('refuses more keys than maxKeys, saying how many fit', async () => {
    const server = await start({ handler: { maxKeys: 3 } });
    const key = { entity: 'items', id: '1' };
    const answer = await post(server.notifyUrl, { keys: [key, key, key, key] });
    expectError(answer, 413, 'TOO_MANY_KEYS');
    expect(answer.body.error.limit).toBe(3);
    expect((await post(server.notifyUrl, { keys: [key, key, key] })).status).toBe(202);
  });
});

describe('415', () => {
  it('refuses a body that is not sent as application/json (UTF-8)', async () => {
    const server = await start();
    const body = JSON.stringify({ keys: [] });
    for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
      const headers = { authorization: `Bearer ${TOKEN}`, ...(type !== undefined && { 'content-type': type }) };
      const answer = await request(server.notifyUrl, { method: 'POST', headers, body: type === undefined ? null : body });
      expectError(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    for (const type of ['Application/JSON', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"']) {
      expect((await post(server.notifyUrl, body, { 'content-type': type })).status).toBe(202);
    }
  });
});

describe('500', () => {
  it('answers a throwing verify with a generic message; the details go to onError', async () => {
    const secret = 'directory password is hunter2';
    const server = await start({
      handler: {
        verify: async () => {
          throw new Error(secret);
        },
      },
    });
    const answer = await post(server.notifyUrl, { keys: [] });
    expectError(answer, 500, 'INTERNAL');
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    expect(server.errors).toHaveLength(1);
    expect(server.errors[0]).toMatchObject({ code: 'INTERNAL', cause: { message: secret } });
  });
});

describe('503', () => {
  it('answers a bus that does not accept the change as retryable, with Retry-After', async () => {
    const broker = new MemoryBroker();
    const server = await start({ sync: { broker, busTimeoutMs: 200 }, handler: { retryAfterSeconds: 7 } });
    await server.sync.ready();
    broker.setDown(true);
    const answer = await post(server.notifyUrl, { keys: [{ entity: 'items', id: '1' }] });
    expectError(answer, 503, 'UNAVAILABLE');
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(server.errors.map((e) => e.code)).toEqual(['PUBLISH_FAILED']);
    broker.setDown(false);
    await expect.poll(() => server.sync.stats().bus).toBe('up');
    expect((await post(server.notifyUrl, { keys: [{ entity: 'items', id: '1' }] })).status).toBe(202);
  });

  it('answers 503 once the node is closing', async () => {
    const server = await start();
    await server.sync.close();
    const answer = await post(server.notifyUrl, { resync: true });
    expectError(answer, 503, 'UNAVAILABLE');
    expect(answer.body.error.message).toMatch(/shutting down/);
    expect(answer.headers.get('retry-after')).toBe('1');
  });
});
