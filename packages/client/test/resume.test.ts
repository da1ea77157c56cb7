import { valueFingerprint } from '@entity-sync/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type ClientError, type ClientOptions, createClient, type StateDetail } from '../src/index.js';
import { Store, startServer } from './server.js';

const WAIT = { timeout: 15_000, interval: 20 };

const leftovers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

/** Every socket the client opened, with the frames it sent and received, in order. */
const tapped: { sent: string[]; received: string[] }[] = [];

/** `ws`'s WebSocket, tapped: what each socket sends and receives is recorded in `tapped`. */
class TappedWebSocket extends WebSocket {
  constructor(url: string, protocols: string) {
    super(url, protocols);
    const tap = { sent: [] as string[], received: [] as string[] };
    tapped.push(tap);
    this.on('message', (data) => tap.received.push(String(data)));
    const send = this.send.bind(this);
    this.send = ((data: string) => {
      tap.sent.push(data);
      send(data);
    }) as typeof this.send;
  }
}

function newClient(url: string, options: Partial<ClientOptions> = {}) {
  tapped.length = 0;
  const client = createClient({ url, WebSocket: TappedWebSocket, retry: { minDelayMs: 20, maxDelayMs: 200 }, ...options });
  const errors: ClientError[] = [];
  client.on('error', (e) => errors.push(e));
  leftovers.push(() => client.close());
  return { client, errors };
}

const frames = (texts: string[]) => texts.map((t) => JSON.parse(t) as Record<string, unknown>);

describe('resume against a real server', () => {
  it('after a server restart with nothing changed, sends fp and gets the ack alone; listeners keep their values', async () => {
    const store = new Store();
    store.items.set('1', { id: '1', title: 'one' });
    let server = await startServer(store);
    const { port } = server;
    const { client, errors } = newClient(server.url, { secret: 'alice' });
    const seen: { value: unknown; snapshot: boolean }[] = [];
    client.subscribe({ entity: 'items', id: '1' }, (value, meta) => seen.push({ value, snapshot: meta.snapshot }));
    client.subscribe({ entity: 'items', id: 'missing' }, () => {});
    await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
    const held = seen[0]!.value;
    expect(held).toEqual({ id: '1', title: 'one', seenAs: 'alice' });

    await server.stop();
    server = await startServer(store, port);
    leftovers.push(() => server.stop());
    await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);

    const last = tapped.at(-1)!;
    const subscribe = frames(last.sent).find((f) => f.action === 'subscribe')!;
    expect(subscribe.body).toEqual([
      { entity: 'items', id: '1', fp: valueFingerprint(held) },
      { entity: 'items', id: 'missing', fp: valueFingerprint(null) },
    ]);
    await vi.waitFor(() => expect(frames(last.received).filter((f) => f.type === 'ack')).toHaveLength(2), WAIT);
    expect(frames(last.received).map((f) => f.type)).toEqual(['connected', 'ack', 'ack']);
    expect(seen[1]).toEqual({ value: held, snapshot: true });
    expect(seen[1]!.value).toBe(held);
    expect(errors).toEqual([]);

    // Live updates flow on the resumed subscription.
    store.items.set('1', { id: '1', title: 'edited' });
    await server.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ value: { id: '1', title: 'edited', seenAs: 'alice' }, snapshot: false }), WAIT);
  });

  it('after a restart with a changed value, the new value comes as a data frame', async () => {
    const store = new Store();
    store.items.set('1', { id: '1', title: 'one' });
    let server = await startServer(store);
    const { port } = server;
    const { client } = newClient(server.url);
    const seen: unknown[] = [];
    client.subscribe({ entity: 'items', id: '1' }, (value) => seen.push(value));
    await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
    await server.stop();
    store.items.set('1', { id: '1', title: 'two' });
    server = await startServer(store, port);
    leftovers.push(() => server.stop());
    await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ title: 'two' }), WAIT);
    expect(frames(tapped.at(-1)!.received).filter((f) => f.type === 'data')).toHaveLength(1);
  });
});

describe('secret expiry against a real server', () => {
  it('SECRET_EXPIRED: the client asks its secret function again, sends the answer, and data flows again', async () => {
    const store = new Store();
    store.items.set('1', { id: '1', title: 'one' });
    // The upgrade authenticates as `alice` for a short while; the secret function refreshes it.
    const server = await startServer(store, 0, { authenticate: () => ({ secret: 'alice', expiresAt: Date.now() + 500 }) });
    leftovers.push(() => server.stop());
    // First call (at creation): null, no secret message (the upgrade authenticated); then `bob`.
    let calls = 0;
    const { client, errors } = newClient(server.url, { secret: async () => (calls++ === 0 ? null : 'bob') });
    let expired = 0;
    client.on('secretExpired', () => expired++);
    const seen: unknown[] = [];
    client.subscribe({ entity: 'items', id: '1' }, (value) => seen.push(value));
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ id: '1', title: 'one', seenAs: 'bob' }), WAIT);
    expect(expired).toBe(1);
    // Before the expiry the values were alice's (if the first one came before it; the machine may be slow).
    expect(seen.slice(0, -1)).toEqual(seen.slice(0, -1).map(() => ({ id: '1', title: 'one', seenAs: 'alice' })));
    const received = frames(tapped.at(-1)!.received);
    const expiry = received.findIndex((f) => f.code === 'SECRET_EXPIRED');
    expect(expiry).toBeGreaterThan(0);
    expect(frames(tapped.at(-1)!.sent).filter((f) => f.action === 'secret')).toEqual([
      { action: 'secret', body: 'bob', ref: expect.anything() },
    ]);
    expect(errors).toEqual([]);
    // Later changes reach the client under the new secret.
    store.items.set('1', { id: '1', title: 'edited' });
    await server.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ id: '1', title: 'edited', seenAs: 'bob' }), WAIT);
  });
});

describe('admission control against a real server', () => {
  it("a 503 upgrade's Retry-After sets the delay of the next attempt", async () => {
    const store = new Store();
    // The first handshake waits in `authenticate` until the test lets it go: the one slot is taken.
    let letGo!: () => void;
    let waiting = 0;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const server = await startServer(store, 0, {
      admission: { maxPendingHandshakes: 1, retryAfterSeconds: 2 },
      authenticate: async () => {
        waiting++;
        await held;
        return undefined;
      },
    });
    leftovers.push(() => server.stop());
    const first = newClient(server.url, { WebSocket });
    await vi.waitFor(() => expect(waiting).toBe(1), WAIT);
    const { client } = newClient(server.url, { WebSocket });
    const retries: StateDetail[] = [];
    client.on('state', (state, detail) => state === 'reconnecting' && retries.push(detail));
    await vi.waitFor(() => expect(retries).toHaveLength(1), WAIT);
    expect(retries[0]!.retryInMs).toBeGreaterThanOrEqual(2_000);
    letGo();
    await vi.waitFor(() => expect(first.client.state).toBe('open'), WAIT);
  });
});
