import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createEntitySync,
  type EntityKey,
  type EntitySync,
  EntitySyncError,
  type EntitySyncOptions,
  keySubject,
  MemoryBroker,
  type PassThroughContext,
} from '@entity-sync/core';
import { type AttachOptions, attachWebSocket } from '@entity-sync/ws';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type RunningServer, serve } from './support/server.js';
import { TestClient, Teardown } from '@entity-sync/testing';

const leftovers = new Teardown();
afterEach(leftovers.run);

const CONNECTED = { type: 'connected', protocol: 1 };
type Mode = 'v1' | 'legacy';

interface Fixture {
  sync: EntitySync;
  broker: MemoryBroker;
  server: RunningServer;
  store: Map<string, unknown>;
}

async function setup(attach: Omit<AttachOptions, 'server' | 'noServer'> = {}, node: EntitySyncOptions = {}): Promise<Fixture> {
  const store = new Map<string, unknown>();
  const broker = new MemoryBroker();
  const sync = createEntitySync({ broker, ...node });
  sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null });
  sync.registerEntity('whoami', { fetch: (_key, ctx) => ({ secret: ctx.secret }) });
  const server = await serve(sync, attach);
  leftovers.push(sync, server);
  return { sync, broker, server, store };
}

async function connect(url: string, mode: Mode, headers?: Record<string, string>): Promise<TestClient> {
  const c = await TestClient.connect(url, { protocol: mode, ...(headers === undefined ? {} : { headers }) });
  leftovers.push(c);
  if (mode === 'v1') expect(await c.next()).toEqual(CONNECTED);
  return c;
}

/** Opens a WebSocket and reports how the upgrade ended: 101, or the HTTP status of the refusal. */
function upgradeStatus(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.on('error', () => {});
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

const sub = (entity: string, id: string): Record<string, unknown> => ({ action: 'subscribe', body: { entity, id } });

async function busHolds(f: Fixture, key: EntityKey): Promise<void> {
  await vi.waitFor(() => expect(f.broker.subscriberCount(keySubject('entity-sync', key))).toBe(1));
}

/** Changes `key` and waits until `c` (legacy) got exactly `expected` frames in total. */
async function changeAndExpectLegacy(f: Fixture, c: TestClient, key: EntityKey, value: unknown, expected: string[]): Promise<void> {
  f.store.set(key.id, value);
  await f.sync.notifyAllOfChange(key);
  await vi.waitFor(() => expect(c.frames).toHaveLength(expected.length));
  expect(c.frames).toEqual(expected);
}

async function listen(http: Server): Promise<number> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

function closeHttp(http: Server): { close(): Promise<void> } {
  return {
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// ---------------------------------------------------------------------------------------------

/** Sends a plain HTTP request (no upgrade) and returns its status, headers and body. */
async function plainGet(url: string): Promise<{ status: number; body: string; upgrade: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), upgrade: response.headers.get('upgrade') };
}

describe('plain HTTP requests and unknown paths', () => {
  it("answers a GET without upgrade on the transport's path with 426, with and without the trailing slash", async () => {
    const sync = createEntitySync();
    leftovers.push(sync);
    const http = createServer(); // the README's quick start: no request listener of its own
    attachWebSocket(sync, { server: http });
    leftovers.push(closeHttp(http));
    const port = await listen(http);
    for (const path of ['/ws/entity-sync/', '/ws/entity-sync', '/ws/entity-sync/?x=1']) {
      const reply = await plainGet(`http://127.0.0.1:${port}${path}`);
      expect(reply).toMatchObject({ status: 426, upgrade: 'websocket' });
      expect(reply.body).toContain('WebSocket endpoint');
    }
    // Without a request listener of the server's own, other requests get 404, not silence.
    expect((await plainGet(`http://127.0.0.1:${port}/health`)).status).toBe(404);
    // An upgrade for a path nobody handles is answered too.
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/elsewhere`)).toBe(404);
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/ws/entity-sync`, ['entity-sync.v1'])).toBe(101);
  });

  it("passes other requests to the server's own listeners, and gives them back on close()", async () => {
    const sync = createEntitySync();
    leftovers.push(sync);
    const http = createServer((_req, res) => res.writeHead(200).end('app'));
    const transport = attachWebSocket(sync, { server: http });
    leftovers.push(closeHttp(http));
    const port = await listen(http);
    expect(await plainGet(`http://127.0.0.1:${port}/page`)).toMatchObject({ status: 200, body: 'app' });
    expect((await plainGet(`http://127.0.0.1:${port}/ws/entity-sync/`)).status).toBe(426);
    await transport.close();
    expect(await plainGet(`http://127.0.0.1:${port}/ws/entity-sync/`)).toMatchObject({ status: 200, body: 'app' });
    expect(http.listenerCount('request')).toBe(1);
  });
});

describe('attachWebSocket on an http.Server', () => {
  it('leaves upgrade requests for other paths to other listeners', async () => {
    const f = await setup();
    const other = new WebSocketServer({ noServer: true });
    other.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`echo:${data.toString()}`)));
    leftovers.push({ close: () => new Promise<void>((resolve) => other.close(() => resolve())) });
    f.server.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (f.server.transport.shouldHandle(req)) return;
      if (req.url?.startsWith('/other')) other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws, req));
      else refuse(socket, 418, "I'm a teapot");
    });
    const base = `ws://127.0.0.1:${f.server.port}`;

    const echo = new WebSocket(`${base}/other`);
    leftovers.push({ close: async () => echo.terminate() });
    await new Promise((resolve, reject) => {
      echo.once('open', resolve);
      echo.once('error', reject);
    });
    echo.send('hi');
    const reply = await new Promise<string>((resolve) => echo.once('message', (data: Buffer) => resolve(data.toString())));
    expect(reply).toBe('echo:hi');

    // Our transport wrote nothing to these: the other listener's answer arrives intact.
    expect(await upgradeStatus(`${base}/teapot`)).toBe(418);
    expect(await upgradeStatus(`${base}/ws/entity-sync`)).toBe(101); // the path without its trailing slash is ours too
    expect(await upgradeStatus(`${base}/ws/entity-sync/x`)).toBe(418);

    // And ours still works alongside.
    const c = await connect(f.server.url, 'v1');
    expect(await c.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
  });

  it.each<Mode>(['v1', 'legacy'])('ignores the query string on its path (%s)', async (mode) => {
    const f = await setup();
    const c = await connect(`${f.server.url}?token=abc&v=1`, mode);
    if (mode === 'v1') {
      expect(await c.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
    } else {
      c.send(sub('items', '1'));
      await busHolds(f, { entity: 'items', id: '1' });
      await changeAndExpectLegacy(f, c, { entity: 'items', id: '1' }, { n: 1 }, ['{"n":1}']);
    }
  });

  it('serves a custom path', async () => {
    const f = await setup({ path: '/live' });
    expect(f.server.url.endsWith('/live')).toBe(true);
    const c = await connect(f.server.url, 'v1');
    expect(await c.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
  });
});

describe('noServer mode', () => {
  it("completes upgrades handed over by the user's own upgrade listener; 404 for another path", async () => {
    const store = new Map<string, unknown>([['1', { id: '1' }]]);
    const sync = createEntitySync();
    sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null });
    const attachment = attachWebSocket(sync, { noServer: true, path: '/api/sync' });
    const http = createServer((_req, res) => res.writeHead(404).end());
    // Like an Express app that hands over every upgrade under /api.
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.url?.startsWith('/api/')) attachment.handleUpgrade(req, socket, head);
      else refuse(socket, 418, "I'm a teapot");
    });
    const port = await listen(http);
    leftovers.push(sync, closeHttp(http), attachment);

    expect(attachment.shouldHandle({ url: '/api/sync?x=1' } as IncomingMessage)).toBe(true);
    expect(attachment.shouldHandle({ url: '/api/other' } as IncomingMessage)).toBe(false);
    const c = await connect(`ws://127.0.0.1:${port}/api/sync?x=1`, 'v1');
    c.send({ ...sub('items', '1'), ref: 1 });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: '1', data: { id: '1' } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 1 });
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/api/other`)).toBe(404);
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/elsewhere`)).toBe(418);
  });
});

describe('origins', () => {
  it('an allow-list: 403 for another Origin, allowed without Origin', async () => {
    const f = await setup({ origins: ['https://app.example'] });
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'], { Origin: 'https://app.example' })).toBe(101);
    expect(await upgradeStatus(f.server.url, [], { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'], { Origin: 'https://app.example.evil.example' })).toBe(403);
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'], { Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'])).toBe(101);
    expect(await upgradeStatus(f.server.url, [])).toBe(101);
  });

  it('a check function, sync or async, gets the origin and the request', async () => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const f = await setup({
      origins: async (origin, req) => {
        seen.push([origin, req.url]);
        await Promise.resolve();
        return origin?.endsWith('.trusted.example') ?? false;
      },
    });
    expect(await upgradeStatus(`${f.server.url}?q=1`, ['entity-sync.v1'], { Origin: 'https://a.trusted.example' })).toBe(101);
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'], { Origin: 'https://a.untrusted.example' })).toBe(403);
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'])).toBe(403);
    expect(seen).toEqual([
      ['https://a.trusted.example', '/ws/entity-sync/?q=1'],
      ['https://a.untrusted.example', '/ws/entity-sync/'],
      [undefined, '/ws/entity-sync/'],
    ]);
    const g = await setup({ origins: (origin) => origin === 'https://ok.example' });
    expect(await upgradeStatus(g.server.url, [], { Origin: 'https://ok.example' })).toBe(101);
    expect(await upgradeStatus(g.server.url, [], { Origin: 'https://ko.example' })).toBe(403);
  });

  it('a check that throws refuses the upgrade without crashing', async () => {
    const f = await setup({
      origins: () => {
        throw new Error('boom');
      },
    });
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'], { Origin: 'https://a.example' })).toBe(500);
    expect(f.sync.stats().connections).toBe(0);
  });
});

describe('authenticate', () => {
  const bearer = (req: IncomingMessage): string | undefined | false => {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    return header.startsWith('Bearer ') ? header.slice(7) : false;
  };

  it('the returned secret is what the fetch handler sees in ctx.secret (v1)', async () => {
    const f = await setup({ authenticate: bearer });
    const c = await connect(f.server.url, 'v1', { Authorization: 'Bearer tok-1' });
    c.send({ ...sub('whoami', 'me'), ref: 1 });
    expect(await c.next()).toEqual({ type: 'data', entity: 'whoami', id: 'me', data: { secret: 'tok-1' } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 1 });
    // The client may still replace it.
    expect(await c.request({ action: 'secret', body: 'tok-2' }, 2)).toEqual({ type: 'ack', ref: 2 });
    expect(await c.next()).toEqual({ type: 'data', entity: 'whoami', id: 'me', data: { secret: 'tok-2' } });
    // Without a header the secret is ''.
    const anon = await connect(f.server.url, 'v1');
    anon.send({ ...sub('whoami', 'me'), ref: 1 });
    expect(await anon.next()).toEqual({ type: 'data', entity: 'whoami', id: 'me', data: { secret: '' } });
  });

  it('the returned secret is what the fetch handler sees in ctx.secret (legacy)', async () => {
    const f = await setup({ authenticate: async (req) => Promise.resolve(bearer(req)) });
    const c = await connect(f.server.url, 'legacy', { Authorization: 'Bearer tok-L' });
    const key = { entity: 'whoami', id: 'me' };
    c.send(sub(key.entity, key.id));
    await busHolds(f, key);
    await f.sync.notifyAllOfChange(key);
    await vi.waitFor(() => expect(c.frames).toEqual(['{"secret":"tok-L"}']));
  });

  it.each([
    ['returns false', (): false => false],
    ['resolves false', (): Promise<false> => Promise.resolve(false)],
    [
      'throws',
      (): never => {
        throw new Error('bad token');
      },
    ],
    ['rejects', (): Promise<never> => Promise.reject(new Error('bad token'))],
  ])('HTTP 401 when it %s', async (_name, authenticate) => {
    const f = await setup({ authenticate });
    expect(await upgradeStatus(f.server.url, ['entity-sync.v1'])).toBe(401);
    expect(await upgradeStatus(f.server.url, [])).toBe(401);
    expect(f.sync.stats().connections).toBe(0);
  });
});

describe('legacy: false', () => {
  it('refuses clients without the v1 subprotocol with 426; v1 works', async () => {
    const f = await setup({ legacy: false });
    expect(await upgradeStatus(f.server.url, [])).toBe(426);
    expect(await upgradeStatus(f.server.url, ['graphql-ws'])).toBe(426);
    const c = await connect(f.server.url, 'v1');
    expect(c.ws.protocol).toBe('entity-sync.v1');
    expect(await c.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
  });

  it('by default a client asking for v1 among others gets v1, one asking for none gets legacy', async () => {
    const f = await setup();
    const ws = new WebSocket(f.server.url, ['other', 'entity-sync.v1']);
    leftovers.push({ close: async () => ws.terminate() });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('entity-sync.v1');
    expect(JSON.parse(first)).toEqual(CONNECTED);
    const legacy = await connect(f.server.url, 'legacy');
    expect(legacy.ws.protocol).toBe('');
  });
});

describe('heartbeat', () => {
  it('terminates a client that does not answer pings; a normal one stays', async () => {
    // Long enough that a loaded machine answers in time, short enough to see several pings.
    const f = await setup({ heartbeatIntervalMs: 250 });
    const normal = await connect(f.server.url, 'v1');
    let pings = 0;
    normal.ws.on('ping', () => pings++);

    const deaf = new WebSocket(f.server.url, ['entity-sync.v1'], { autoPong: false });
    leftovers.push({ close: async () => deaf.terminate() });
    const deafClosed = new Promise<number>((resolve) => deaf.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      deaf.once('open', resolve);
      deaf.once('error', reject);
    });
    const acked = new Promise<void>((resolve) =>
      deaf.on('message', (data: Buffer) => JSON.parse(data.toString()).type === 'ack' && resolve()),
    );
    deaf.send(JSON.stringify({ ...sub('items', 'd'), ref: 1 }));
    await acked;

    // Terminated without a close frame.
    expect(await deafClosed).toBe(1006);
    await vi.waitFor(() => expect(f.sync.stats()).toMatchObject({ connections: 1, subscriptions: 0 }));
    // The normal client keeps answering and stays open through several more intervals.
    const seen = pings;
    await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(seen + 3), { timeout: 5_000 });
    expect(normal.ws.readyState).toBe(WebSocket.OPEN);
    expect(await normal.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
  });
});

describe('pass-through', () => {
  interface Seen {
    message: unknown;
    secret: string;
    protocol: string;
  }

  async function withHook(): Promise<{ f: Fixture; seen: Seen[]; contexts: PassThroughContext[] }> {
    const seen: Seen[] = [];
    const contexts: PassThroughContext[] = [];
    const f = await setup(
      {},
      {
        onPassThrough: (message, ctx) => {
          seen.push({ message, secret: ctx.secret, protocol: ctx.protocol });
          contexts.push(ctx);
          ctx.reply({ echo: message });
        },
      },
    );
    return { f, seen, contexts };
  }

  it('legacy: {"hello":"world"} and null reach the hook with the secret; replies are the bare JSON', async () => {
    const { f, seen, contexts } = await withHook();
    const c = await connect(f.server.url, 'legacy');
    c.send({ action: 'secret', body: 's1' });
    c.send({ hello: 'world' });
    await vi.waitFor(() => expect(c.frames).toEqual(['{"echo":{"hello":"world"}}']));
    c.send('null');
    await vi.waitFor(() => expect(c.frames).toHaveLength(2));
    expect(c.frames[1]).toBe('{"echo":null}');
    expect(seen).toEqual([
      { message: { hello: 'world' }, secret: 's1', protocol: 'legacy' },
      { message: null, secret: 's1', protocol: 'legacy' },
    ]);
    // The hook may reply later, too.
    contexts[0]!.reply([1, 2, 3]);
    await vi.waitFor(() => expect(c.frames).toHaveLength(3));
    expect(c.frames[2]).toBe('[1,2,3]');
  });

  it('v1: replies come as {"type":"message","data":...}, then the ack', async () => {
    const { f, seen, contexts } = await withHook();
    const c = await connect(f.server.url, 'v1', {});
    expect(await c.request({ action: 'secret', body: 's2' }, 1)).toEqual({ type: 'ack', ref: 1 });
    c.send({ hello: 'world', ref: 2 });
    expect(await c.next()).toEqual({ type: 'message', data: { echo: { hello: 'world', ref: 2 } } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 2 });
    c.send('null');
    expect(await c.next()).toEqual({ type: 'message', data: { echo: null } });
    expect(seen).toEqual([
      { message: { hello: 'world', ref: 2 }, secret: 's2', protocol: 'v1' },
      { message: null, secret: 's2', protocol: 'v1' },
    ]);
    contexts[1]!.reply('later');
    expect(await c.next()).toEqual({ type: 'message', data: 'later' });
    // A reply after the connection is gone is dropped quietly.
    await c.close();
    expect(() => contexts[0]!.reply({ late: true })).not.toThrow();
  });
});

describe('frames and field names', () => {
  it.each<Mode>(['v1', 'legacy'])('text and binary inbound frames both work (%s)', async (mode) => {
    const f = await setup();
    const c = await connect(f.server.url, mode);
    const text = { entity: 'items', id: 't' };
    const binary = { entity: 'items', id: 'b' };
    c.ws.send(JSON.stringify({ ...sub(text.entity, text.id), ref: 1 }));
    c.ws.send(Buffer.from(JSON.stringify({ ...sub(binary.entity, binary.id), ref: 2 })), { binary: true });
    if (mode === 'v1') {
      await c.next((frame) => frame.type === 'ack' && frame.ref === 1);
      await c.next((frame) => frame.type === 'ack' && frame.ref === 2);
      expect(c.messages.filter((m) => (m as { type: string }).type === 'error')).toEqual([]);
    } else {
      await busHolds(f, text);
      await busHolds(f, binary);
      await changeAndExpectLegacy(f, c, text, 'T', ['T']);
      await changeAndExpectLegacy(f, c, binary, { b: true }, ['T', '{"b":true}']);
    }
  });

  it.each<Mode>(['v1', 'legacy'])('Go-style case-insensitive field names work (%s)', async (mode) => {
    const f = await setup();
    const c = await connect(f.server.url, mode);
    c.send('{"ACTION":"subscribe","BODY":{"Entity":"items","ID":"1"},"Ref":1}');
    if (mode === 'v1') {
      expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: '1', data: null });
      expect(await c.next()).toEqual({ type: 'ack', ref: 1 });
    } else {
      await busHolds(f, { entity: 'items', id: '1' });
      await changeAndExpectLegacy(f, c, { entity: 'items', id: '1' }, { v: 1 }, ['{"v":1}']);
    }
  });

  it('legacy: subscribing twice is idempotent (one frame per notify); unsubscribing a key not held is a no-op', async () => {
    const f = await setup();
    const c = await connect(f.server.url, 'legacy');
    const key = { entity: 'items', id: '1' };
    c.send(sub(key.entity, key.id));
    c.send(sub(key.entity, key.id));
    c.send({ action: 'unsubscribe', body: { entity: 'items', id: 'never-held' } });
    c.send({ action: 'unsubscribe', body: { entity: 'whoami', id: 'never-held' } });
    await busHolds(f, key);
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(1));
    await changeAndExpectLegacy(f, c, key, { v: 1 }, ['{"v":1}']);
    await changeAndExpectLegacy(f, c, key, { v: 2 }, ['{"v":1}', '{"v":2}']);
    // Unsubscribing what is held stops the frames.
    c.send({ action: 'unsubscribe', body: key });
    await vi.waitFor(() => expect(f.sync.stats().subscriptions).toBe(0));
    const probe = { entity: 'items', id: 'probe' };
    c.send(sub(probe.entity, probe.id));
    await busHolds(f, probe);
    f.store.set(key.id, { v: 3 });
    await f.sync.notifyAllOfChange(key);
    await changeAndExpectLegacy(f, c, probe, { probe: true }, ['{"v":1}', '{"v":2}', '{"probe":true}']);
  });

  it('v1: unsubscribing a key not held is acked', async () => {
    const f = await setup();
    const c = await connect(f.server.url, 'v1');
    expect(await c.request({ action: 'unsubscribe', body: { entity: 'items', id: 'never-held' } }, 1)).toEqual({ type: 'ack', ref: 1 });
    expect(await c.request({ action: 'unsubscribe', body: [{ entity: 'nope', id: 'x' }] }, 2)).toEqual({ type: 'ack', ref: 2 });
  });
});

describe('closing', () => {
  it('attachment.close() closes clients of both modes with 1001', async () => {
    const f = await setup();
    const v1 = await connect(f.server.url, 'v1');
    const legacy = await connect(f.server.url, 'legacy');
    expect(await v1.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
    await f.server.transport.close();
    expect((await v1.closed).code).toBe(1001);
    expect((await legacy.closed).code).toBe(1001);
    await vi.waitFor(() => expect(f.sync.stats()).toMatchObject({ connections: 0, subscriptions: 0 }));
    await f.server.transport.close(); // idempotent
  });

  it('sync.close() closes clients of both modes with 1001', async () => {
    const f = await setup();
    const v1 = await connect(f.server.url, 'v1');
    const legacy = await connect(f.server.url, 'legacy');
    expect(await v1.request(sub('items', '1'), 1)).toEqual({ type: 'ack', ref: 1 });
    await f.sync.close();
    expect((await v1.closed).code).toBe(1001);
    expect((await legacy.closed).code).toBe(1001);
    expect(f.sync.stats()).toMatchObject({ connections: 0, subscriptions: 0 });
  });

  it('noServer: attachment.close() refuses later upgrades with 503', async () => {
    const sync = createEntitySync();
    const attachment = attachWebSocket(sync, { noServer: true });
    const http = createServer();
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => attachment.handleUpgrade(req, socket, head));
    const port = await listen(http);
    leftovers.push(sync, closeHttp(http));
    const url = `ws://127.0.0.1:${port}/ws/entity-sync/`;
    const c = await connect(url, 'v1');
    await attachment.close();
    expect((await c.closed).code).toBe(1001);
    expect(await upgradeStatus(url, ['entity-sync.v1'])).toBe(503);
  });
});

describe('invalid options', () => {
  const sync = createEntitySync();
  const http = createServer();
  afterAll(() => sync.close());

  it.each<[string, unknown, RegExp]>([
    ['neither server nor noServer', {}, /exactly one of `server` and `noServer: true`/],
    ['both server and noServer', { server: http, noServer: true }, /exactly one of/],
    ['noServer: false without server', { noServer: false }, /exactly one of/],
    ['no options at all', undefined, /exactly one of/],
    ['a server that is not one', { server: {} }, /`server` must be an http\(s\) server/],
    ['a relative path', { noServer: true, path: 'ws' }, /`path` must start with "\/"/],
    ['a non-string path', { noServer: true, path: 5 }, /`path` must start with "\/"/],
    ['maxPayload 0', { noServer: true, maxPayload: 0 }, /`maxPayload` must be a positive integer, got 0/],
    ['maxPayload 1.5', { noServer: true, maxPayload: 1.5 }, /`maxPayload` must be a positive integer, got 1.5/],
    ['maxPayload as a string', { noServer: true, maxPayload: '1024' }, /`maxPayload` must be a positive integer/],
    ['negative heartbeat', { noServer: true, heartbeatIntervalMs: -1 }, /`heartbeatIntervalMs` must be a non-negative integer, got -1/],
    [
      'maxSubscriptionsPerConnection (a node option now)',
      { noServer: true, maxSubscriptionsPerConnection: 0 },
      /`maxSubscriptionsPerConnection` is an option of the node now: createEntitySync\(\{ maxSubscriptionsPerConnection \}\)/,
    ],
    ['origins as a string', { noServer: true, origins: 'https://a.example' }, /`origins` must be an array of strings or a function/],
    ['origins with a number', { noServer: true, origins: [1] }, /`origins` must be an array of strings or a function/],
    ['authenticate not a function', { noServer: true, authenticate: 'x' }, /`authenticate` must be a function/],
    ['onPassThrough (a node option now)', { noServer: true, onPassThrough: {} }, /`onPassThrough` is an option of the node now/],
    ['legacy not a boolean', { noServer: true, legacy: 'no' }, /`legacy` must be a boolean/],
  ])('%s', (_name, options, message) => {
    let thrown: unknown;
    try {
      attachWebSocket(sync, options as AttachOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EntitySyncError);
    expect(thrown).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/^attachWebSocket: /) });
    expect((thrown as Error).message).toMatch(message);
  });

  it('valid options do not throw, and nothing listens before a server is given', () => {
    const attachment = attachWebSocket(sync, { noServer: true, heartbeatIntervalMs: 0, origins: [], legacy: false });
    leftovers.push(attachment);
    expect(http.listenerCount('upgrade')).toBe(0);
  });

  it('createEntitySync and registerEntity throw INVALID_OPTIONS with a readable message too', () => {
    expect(() => createEntitySync({ fetchTimeoutMs: -1 })).toThrow(EntitySyncError);
    expect(() => createEntitySync({ fetchTimeoutMs: -1 })).toThrow(/fetchTimeoutMs/);
    expect(() => createEntitySync({ prefix: 'a b' })).toThrow(/prefix/);
    // Per-connection policy is set once, on the node.
    expect(() => createEntitySync({ maxSubscriptionsPerConnection: 0 })).toThrow(/maxSubscriptionsPerConnection/);
    expect(() => createEntitySync({ onPassThrough: {} as never })).toThrow(/Expected `onPassThrough` to be a function/);
    expect(() => createEntitySync({ highWaterMark: 1.5 })).toThrow(/highWaterMark/);
    const s = createEntitySync();
    leftovers.push(s);
    expect(() => s.registerEntity('a.b', { fetch: () => null })).toThrow(/registerEntity: name must match/);
    expect(() => s.registerEntity('items', { fetch: 'x' } as never)).toThrow(/fetch/);
    s.registerEntity('items', { fetch: () => null });
    expect(() => s.registerEntity('items', { fetch: () => null })).toThrow(/already registered/);
  });
});
