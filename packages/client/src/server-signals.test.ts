import { describe, expect, it, vi } from 'vitest';
import type { Client } from './client.js';
import type { ClientError } from './errors.js';
import { FakeSocket, startFakeClient, UpgradeFakeSocket, useFakeClientClock } from './fake-socket.test-helper.js';
import type { ClientOptions, StateDetail } from './types.js';

const items = (id: string) => ({ entity: 'items', id });

let client: Client;
let errors: ClientError[];

function start(options: Partial<ClientOptions> = {}): FakeSocket {
  ({ client, errors } = startFakeClient(options));
  return FakeSocket.last();
}

useFakeClientClock(() => client);

describe('reconnect jitter after 1001 and 1012', () => {
  it('waits a random time in [0, reconnectJitterMs] (default 1000) for the first attempt, then backs off', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const socket = start();
    socket.open();
    const delays: (number | undefined)[] = [];
    client.on('state', (_state, detail: StateDetail) => delays.push(detail.retryInMs));
    socket.drop(1012);
    expect(delays).toEqual([999]);
    vi.advanceTimersByTime(999);
    expect(FakeSocket.instances).toHaveLength(2);
    random.mockReturnValue(0);
    FakeSocket.last().drop(1012); // not open in between: the second attempt backs off
    expect(delays).toEqual([999, 100]);
  });

  it('reconnects at once with reconnectJitterMs: 0', () => {
    const socket = start({ reconnectJitterMs: 0 });
    socket.open();
    socket.drop(1001);
    vi.advanceTimersByTime(0);
    expect(FakeSocket.instances).toHaveLength(2);
  });
});

describe('Retry-After on a refused upgrade (Node ws)', () => {
  it('waits at least the 503 Retry-After before the next attempt', () => {
    start({ WebSocket: UpgradeFakeSocket });
    (FakeSocket.last() as UpgradeFakeSocket).reject(503, { 'retry-after': '3' });
    return Promise.resolve()
      .then(() => {
        expect(client.state).toBe('reconnecting');
        vi.advanceTimersByTime(2_999);
        expect(FakeSocket.instances).toHaveLength(1);
        vi.advanceTimersByTime(1);
        expect(FakeSocket.instances).toHaveLength(2);
        // The next refusal without the header backs off as usual.
        (FakeSocket.last() as UpgradeFakeSocket).reject(503);
      })
      .then(() => {
        vi.advanceTimersByTime(100);
        expect(FakeSocket.instances).toHaveLength(3);
        expect(errors).toEqual([]);
      });
  });

  it('stops for good on a 401 seen through unexpected-response', async () => {
    start({ WebSocket: UpgradeFakeSocket });
    (FakeSocket.last() as UpgradeFakeSocket).reject(401);
    await Promise.resolve();
    expect(client.state).toBe('closed');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['UNAUTHORIZED', expect.stringContaining('401')]]);
  });
});

describe('RATE_LIMITED', () => {
  it('reports it, hands it to the keys of a dropped subscribe, and subscribes them again after a backoff delay', async () => {
    const socket = start();
    socket.open();
    const keyErrors: string[] = [];
    const iterator = client.watch(items('2'));
    client.subscribe(
      items('1'),
      () => {},
      (e) => keyErrors.push(e.code),
    );
    await Promise.resolve();
    const { ref } = socket.sent[0]!;
    socket.receive({ type: 'error', ref, code: 'RATE_LIMITED', message: 'too many messages: slow down' });
    expect(errors.map((e) => e.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']); // the message, then key 2 (watch without onError)
    expect(keyErrors).toEqual(['RATE_LIMITED']);
    expect(socket.sent).toHaveLength(1); // not resent at once
    vi.advanceTimersByTime(100);
    await Promise.resolve();
    expect(socket.sent.at(-1)).toMatchObject({ action: 'subscribe', body: [items('2'), items('1')] });
    socket.receive({ type: 'data', entity: 'items', id: '2', data: 'v' });
    await expect(iterator.next()).resolves.toEqual({ value: 'v', done: false });
  });

  it('does not resend a dropped secret', () => {
    const socket = start();
    socket.open();
    client.setSecret('s2');
    socket.receive({ type: 'error', ref: 1, code: 'RATE_LIMITED', message: 'slow down' });
    vi.advanceTimersByTime(60_000);
    expect(socket.sent.map((m) => m.action)).toEqual(['secret']);
    expect(errors.map((e) => e.code)).toEqual(['RATE_LIMITED']);
  });
});

describe('SECRET_EXPIRED', () => {
  const expired = { type: 'error', code: 'SECRET_EXPIRED', message: 'the secret expired: send a new one' };

  it('without a secret function: emits secretExpired and reports the error', () => {
    const socket = start({ secret: 'old' });
    let heard = 0;
    client.on('secretExpired', () => heard++);
    socket.open();
    socket.receive(expired);
    expect(heard).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['SECRET_EXPIRED']);
    client.setSecret('new');
    expect(socket.sent.at(-1)).toMatchObject({ action: 'secret', body: 'new' });
  });

  it('with a sync secret function: calls it at creation and again after the expiry, and sends the answer', async () => {
    let n = 0;
    const secret = vi.fn(() => `token-${++n}`);
    const socket = start({ secret });
    let heard = 0;
    client.on('secretExpired', () => heard++);
    client.subscribe(items('1'), () => {});
    await Promise.resolve();
    socket.open();
    await flush();
    expect(socket.sent.map((m) => [m.action, m.body])).toEqual([
      ['secret', 'token-1'],
      ['subscribe', [items('1')]],
    ]);
    socket.receive(expired);
    await flush();
    expect(heard).toBe(1);
    expect(secret).toHaveBeenCalledTimes(2);
    expect(socket.sent.at(-1)).toMatchObject({ action: 'secret', body: 'token-2' });
    expect(errors).toEqual([]);
  });

  it('with an async secret function: the keys of an open wait for the secret', async () => {
    let resolve!: (secret: string) => void;
    const socket = start({ secret: () => new Promise<string>((r) => (resolve = r)) });
    client.subscribe(items('1'), () => {});
    socket.open();
    await flush();
    expect(socket.sent).toEqual([]);
    client.subscribe(items('2'), () => {});
    await flush();
    expect(socket.sent).toEqual([]);
    resolve('late');
    await flush();
    expect(socket.sent.map((m) => [m.action, m.body])).toEqual([
      ['secret', 'late'],
      ['subscribe', [items('1'), items('2')]],
    ]);
  });

  it('reports a secret function that throws, and still subscribes', async () => {
    const socket = start({
      secret: () => {
        throw new Error('no token');
      },
    });
    client.subscribe(items('1'), () => {});
    socket.open();
    await flush();
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['LISTENER_ERROR', 'no token']]);
    expect(socket.sent.map((m) => m.action)).toEqual(['subscribe']);
  });

  it('keeps a key whose subscribe came after the expiry, silently, and resends it on reconnect', async () => {
    const socket = start();
    socket.open();
    const keyErrors: string[] = [];
    client.subscribe(
      items('1'),
      () => {},
      (e) => keyErrors.push(e.code),
    );
    await Promise.resolve();
    socket.receive({ ...expired, ref: 1, entity: 'items', id: '1' });
    expect(keyErrors).toEqual([]);
    expect(errors).toEqual([]);
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent.at(-1)).toMatchObject({ action: 'subscribe', body: [items('1')] });
  });
});

describe('SECRET_EXPIRED and resume', () => {
  it('a key held for the expiry is not handed its value again by the ack of the other keys', async () => {
    const socket = start();
    socket.open();
    const seen: Record<string, unknown[]> = { '1': [], '2': [] };
    for (const id of ['1', '2']) client.subscribe(items(id), (value) => seen[id]!.push(value));
    await Promise.resolve();
    socket.receive({ type: 'data', ...items('1'), data: 'one' });
    socket.receive({ type: 'data', ...items('2'), data: 'two' });
    socket.ackLast();
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    const next = FakeSocket.last();
    next.open();
    const { ref } = next.sent.at(-1)!;
    next.receive({ type: 'error', ref, code: 'SECRET_EXPIRED', message: 'expired', ...items('1') });
    next.receive({ type: 'ack', ref });
    expect(seen).toEqual({ '1': ['one'], '2': ['two', 'two'] });
    expect(errors).toEqual([]);
  });
});

/** Lets promise chains (a secret function's answer) and queued microtasks settle. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
