import { describe, expect, it, vi } from 'vitest';
import { valueFingerprint } from '@entity-sync/protocol';
import { type Client, createClient } from './client.js';
import type { ClientError } from './errors.js';
import { FakeSocket, useFakeClientClock } from './fake-socket.test-helper.js';
import type { ClientOptions, ConnectionState } from './types.js';

const items = (id: string) => ({ entity: 'items', id });

let client: Client;
let errors: ClientError[];
let states: ConnectionState[];

function start(options: Partial<ClientOptions> = {}): FakeSocket {
  client = createClient({
    url: 'ws://test/ws/entity-sync/',
    WebSocket: FakeSocket,
    retry: { minDelayMs: 100, maxDelayMs: 100 },
    ...options,
  });
  errors = [];
  states = [];
  client.on('error', (e) => errors.push(e));
  client.on('state', (s) => states.push(s));
  return FakeSocket.last();
}

useFakeClientClock(() => client);

describe('connecting and subscribing', () => {
  it('asks for the v1 subprotocol and sends the secret, then every key in one batch', async () => {
    const socket = start({ secret: 's1' });
    expect(socket.protocols).toBe('entity-sync.v1');
    client.subscribe(items('1'), () => {});
    client.subscribe(items('2'), () => {});
    await Promise.resolve();
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(states).toEqual(['open']);
    expect(socket.sent).toEqual([
      { action: 'secret', body: 's1', ref: 1 },
      { action: 'subscribe', body: [items('1'), items('2')], ref: 2 },
    ]);
  });

  it('batches the subscribes of one tick into one frame while open', async () => {
    const socket = start();
    socket.open();
    client.subscribe(items('1'), () => {});
    client.subscribe(items('2'), () => {});
    await Promise.resolve();
    expect(socket.sent).toEqual([{ action: 'subscribe', body: [items('1'), items('2')], ref: 1 }]);
  });

  it('marks values before the ack as snapshot and later ones as updates', async () => {
    const socket = start();
    socket.open();
    const seen: unknown[] = [];
    client.subscribe(items('1'), (value, meta) => seen.push([value, meta.snapshot]));
    await Promise.resolve();
    socket.receive({ type: 'data', entity: 'items', id: '1', data: { v: 1 } });
    socket.ackLast();
    socket.receive({ type: 'data', entity: 'items', id: '1', data: null });
    expect(seen).toEqual([
      [{ v: 1 }, true],
      [null, false],
    ]);
  });

  it('cuts a large batch into several frames', () => {
    const socket = start();
    for (let i = 0; i < 300; i++) client.subscribe(items(`${i}-${'x'.repeat(200)}`), () => {});
    socket.open();
    const frames = socket.sent.filter((m) => m.action === 'subscribe');
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.flatMap((m) => m.body as unknown[])).toHaveLength(300);
    for (const frame of frames) expect(JSON.stringify(frame).length).toBeLessThan(40 * 1024);
  });

  it('throws on a key that is not { entity: string, id: string }', () => {
    start();
    expect(() => client.subscribe({ entity: 'items', id: 1 as unknown as string }, () => {})).toThrow(TypeError);
  });

  it('throws at construction when there is no WebSocket', () => {
    expect(() => createClient({ url: 'ws://x' })).toThrow(/No WebSocket/);
    start();
  });
});

describe('ref counting', () => {
  it('shares one server subscription and unsubscribes with the last watcher', async () => {
    const socket = start();
    socket.open();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = client.subscribe(items('1'), (v) => a.push(v));
    await Promise.resolve();
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 1 });
    socket.ackLast();
    const stopB = client.subscribe(items('1'), (v, meta) => b.push([v, meta.snapshot]));
    await Promise.resolve();
    expect(b).toEqual([[1, true]]);
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 2 });
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([
      [1, true],
      [2, false],
    ]);
    stopA();
    stopA();
    await Promise.resolve();
    expect(socket.sent.map((m) => m.action)).toEqual(['subscribe']);
    stopB();
    await Promise.resolve();
    expect(socket.sent.at(-1)).toMatchObject({ action: 'unsubscribe', body: [items('1')] });
  });

  it('sends nothing for a key subscribed and stopped in the same tick', async () => {
    const socket = start();
    socket.open();
    client.subscribe(items('1'), () => {})();
    await Promise.resolve();
    expect(socket.sent).toEqual([]);
  });

  it('unsubscribes then subscribes again when a key is stopped and re-added in one tick', async () => {
    const socket = start();
    socket.open();
    const stop = client.subscribe(items('1'), () => {});
    await Promise.resolve();
    stop();
    const seen: unknown[] = [];
    client.subscribe(items('1'), (v) => seen.push(v));
    await Promise.resolve();
    expect(socket.sent.map((m) => m.action)).toEqual(['subscribe', 'unsubscribe', 'subscribe']);
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 'x' });
    expect(seen).toEqual(['x']);
  });
});

describe('errors', () => {
  it('keeps a FORBIDDEN key, resends it on reconnect and delivers later data', async () => {
    const socket = start();
    socket.open();
    const seen: unknown[] = [];
    const keyErrors: ClientError[] = [];
    client.subscribe(
      items('1'),
      (v) => seen.push(v),
      (e) => keyErrors.push(e),
    );
    await Promise.resolve();
    const ref = socket.sent[0]!.ref;
    socket.receive({ type: 'error', ref, code: 'FORBIDDEN', message: 'no', entity: 'items', id: '1' });
    expect(keyErrors.map((e) => [e.code, e.key])).toEqual([['FORBIDDEN', items('1')]]);
    client.setSecret('admin');
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 'ok' });
    expect(seen).toEqual(['ok']);
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual([
      { action: 'secret', body: 'admin', ref: expect.any(Number) },
      { action: 'subscribe', body: [{ ...items('1'), fp: valueFingerprint('ok') }], ref: expect.any(Number) },
    ]);
    expect(errors).toEqual([]);
  });

  it('drops a key the server dropped, reports to the error event without onError, and does not resend it', async () => {
    const socket = start();
    socket.open();
    const stop = client.subscribe(items('1'), () => {});
    client.subscribe(items('2'), () => {});
    await Promise.resolve();
    socket.receive({ type: 'error', ref: 1, code: 'UNKNOWN_ENTITY', message: 'x', entity: 'items', id: '1' });
    socket.receive({ type: 'ack', ref: 1 });
    expect(errors.map((e) => e.code)).toEqual(['UNKNOWN_ENTITY']);
    stop();
    await Promise.resolve();
    expect(socket.sent.map((m) => m.action)).toEqual(['subscribe']);
    client.subscribe(items('1'), () => {});
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent.at(-1)!.body).toEqual([items('2'), items('1')]);
  });

  it('retries an UNAVAILABLE key after a backoff delay', async () => {
    const socket = start();
    socket.open();
    const keyErrors: string[] = [];
    client.subscribe(
      items('1'),
      () => {},
      (e) => keyErrors.push(e.code),
    );
    await Promise.resolve();
    socket.receive({ type: 'error', ref: 1, code: 'UNAVAILABLE', message: 'bus down', entity: 'items', id: '1' });
    expect(keyErrors).toEqual(['UNAVAILABLE']);
    vi.advanceTimersByTime(100);
    await Promise.resolve();
    expect(socket.sent.map((m) => m.action)).toEqual(['subscribe', 'subscribe']);
  });

  it('reports a message-level error and fails the keys of that message', async () => {
    const socket = start();
    socket.open();
    const keyErrors: string[] = [];
    client.subscribe(
      items('1'),
      () => {},
      (e) => keyErrors.push(e.code),
    );
    await Promise.resolve();
    socket.receive({ type: 'error', ref: 1, code: 'BAD_MESSAGE', message: 'bad' });
    expect(errors.map((e) => [e.code, e.key])).toEqual([['BAD_MESSAGE', undefined]]);
    expect(keyErrors).toEqual(['BAD_MESSAGE']);
  });

  it('reports a FORBIDDEN without ref (after a secret change) to the key', async () => {
    const socket = start();
    socket.open();
    const keyErrors: string[] = [];
    client.subscribe(
      items('1'),
      () => {},
      (e) => keyErrors.push(e.code),
    );
    await Promise.resolve();
    socket.ackLast();
    socket.receive({ type: 'error', code: 'FORBIDDEN', message: 'no', entity: 'items', id: '1' });
    expect(keyErrors).toEqual(['FORBIDDEN']);
  });

  it('reports INVALID_SECRET, bad frames, and listener exceptions to the error event', async () => {
    const socket = start();
    socket.open();
    client.setSecret('x');
    socket.receive({ type: 'error', ref: 1, code: 'INVALID_SECRET', message: 'too long' });
    socket.receive('not json');
    const seen: unknown[] = [];
    client.subscribe(items('1'), () => {
      throw new Error('boom');
    });
    client.subscribe(items('1'), (v) => seen.push(v));
    await Promise.resolve();
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 1 });
    expect(seen).toEqual([1]);
    expect(errors.map((e) => e.code)).toEqual(['INVALID_SECRET', 'BAD_FRAME', 'LISTENER_ERROR']);
    expect((errors[2]!.cause as Error).message).toBe('boom');
  });

  it('hands a late watcher the held error of its key', async () => {
    const socket = start();
    socket.open();
    client.subscribe(
      items('1'),
      () => {},
      () => {},
    );
    await Promise.resolve();
    socket.receive({ type: 'error', ref: 1, code: 'FETCH_FAILED', message: 'x', entity: 'items', id: '1' });
    const late: string[] = [];
    client.subscribe(
      items('1'),
      () => {},
      (e) => late.push(e.code),
    );
    await Promise.resolve();
    expect(late).toEqual(['FETCH_FAILED']);
  });
});

describe('reconnecting', () => {
  it('reconnects after a random 0 to reconnectJitterMs after 1001 and 1012, with backoff otherwise, and replays everything', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const socket = start({ secret: 's', reconnectJitterMs: 400 });
    socket.open();
    client.subscribe(items('1'), () => {});
    await Promise.resolve();
    socket.drop(1001);
    expect(states).toEqual(['open', 'reconnecting']);
    vi.advanceTimersByTime(199);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last().drop(1006);
    vi.advanceTimersByTime(99);
    expect(FakeSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(3);
    client.setSecret('s2');
    client.subscribe(items('2'), () => {});
    await Promise.resolve();
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual([
      { action: 'secret', body: 's2', ref: expect.any(Number) },
      { action: 'subscribe', body: [items('1'), items('2')], ref: expect.any(Number) },
    ]);
    expect(states).toEqual(['open', 'reconnecting', 'reconnecting', 'open']);
  });

  // An HTTP 401/403 upgrade rejection: see server-signals.test.ts (unexpected-response).
  it('stops for good on close code 4403', () => {
    const socket = start();
    socket.open();
    socket.drop(4403, 'forbidden');
    expect(client.state).toBe('closed');
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    expect(errors[0]!.message).toMatch(/4403/);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('abandons an attempt that does not open in time', () => {
    start();
    vi.advanceTimersByTime(10_000);
    expect(states).toEqual(['reconnecting']);
    expect(FakeSocket.instances[0]!.closedWith).toBeDefined();
  });

  it('does not reconnect after close() and ends watch iterators', async () => {
    const socket = start();
    socket.open();
    const iterator = client.watch(items('1'));
    const next = iterator.next();
    await client.close();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    expect(socket.closedWith).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });
});

describe('watch', () => {
  it('yields values in order and unsubscribes when the loop is left', async () => {
    const socket = start();
    socket.open();
    const iterator = client.watch(items('1'));
    await flushMicrotasks();
    for (const v of [1, 2, 3]) socket.receive({ type: 'data', entity: 'items', id: '1', data: v });
    const seen: unknown[] = [];
    for await (const value of iterator) {
      seen.push(value);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    await flushMicrotasks();
    expect(socket.sent.at(-1)!.action).toBe('unsubscribe');
  });

  it('throws when the server drops the key and passes held errors to onError', async () => {
    const socket = start();
    socket.open();
    const held: string[] = [];
    const iterator = client.watch(items('1'), { onError: (e) => held.push(e.code) });
    await flushMicrotasks();
    socket.receive({ type: 'error', ref: 1, code: 'FETCH_TIMEOUT', message: 'slow', entity: 'items', id: '1' });
    socket.receive({ type: 'data', entity: 'items', id: '1', data: 'v' });
    socket.receive({ type: 'error', code: 'INVALID_KEY', message: 'bad', entity: 'items', id: '1' });
    await expect(iterator.next()).resolves.toEqual({ value: 'v', done: false });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
    expect(held).toEqual(['FETCH_TIMEOUT']);
  });

  it('ends at once when the client is already closed', async () => {
    start();
    await client.close();
    await expect(client.watch(items('1')).next()).resolves.toMatchObject({ done: true });
  });

  it('ends when its signal aborts', async () => {
    start().open();
    const controller = new AbortController();
    const iterator = client.watch(items('1'), { signal: controller.signal });
    const next = iterator.next();
    controller.abort();
    await expect(next).resolves.toMatchObject({ done: true });
  });
});

function flushMicrotasks(): Promise<void> {
  return Promise.resolve().then(() => undefined);
}
