import { applyDelta, type DeltaOp, valueFingerprint } from '@entity-sync/protocol';
import { describe, expect, it } from 'vitest';
import { createEntitySync, type EntitySync } from './node.js';
import type { ConnectionHandle, SocketLike } from './types.js';

/** A socket whose backlog the test sets, recording the raw frames the connection writes. */
class FakeSocket implements SocketLike {
  readonly raw: string[] = [];
  bufferedAmount = 0;
  send(data: string | Uint8Array): void {
    this.raw.push(String(data));
  }
  close(): void {}
  get frames(): Array<Record<string, unknown>> {
    return this.raw.map((f) => JSON.parse(f) as Record<string, unknown>);
  }
  /** Frames of `type` from index `from` on. */
  of(type: string, from = 0): Array<Record<string, unknown>> {
    return this.frames.slice(from).filter((f) => f.type === type);
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A document of about `size` characters of JSON, whose `title` is the one field that changes. */
function doc(title: string, size = 6_000): Record<string, unknown> {
  const rows = Array.from({ length: Math.ceil(size / 40) }, (_, i) => ({ n: i, text: `row ${i} of the document` }));
  return { id: 'd1', title, rows };
}

interface Setup {
  sync: EntitySync;
  store: Map<string, unknown>;
  set(id: string, value: unknown): Promise<void>;
  connect(options?: {
    deltas?: boolean;
    secret?: string;
    fp?: number;
    id?: string;
  }): Promise<{ socket: FakeSocket; conn: ConnectionHandle }>;
}

function setup(
  scope: 'shared' | 'client' | 'secret',
  deltas: Parameters<typeof createEntitySync>[0] = { deltas: { minBytes: 1_000 } },
): Setup {
  const sync = createEntitySync(deltas);
  const store = new Map<string, unknown>([['d1', doc('first')]]);
  sync.registerEntity('docs', { scope, fetch: (key) => store.get(key.id) ?? null });
  let ref = 0;
  return {
    sync,
    store,
    async set(id, value) {
      store.set(id, value);
      await sync.notifyAllOfChange({ entity: 'docs', id });
      await tick();
    },
    async connect({ deltas = true, secret = '', fp, id = 'd1' } = {}) {
      const socket = new FakeSocket();
      const conn = sync.accept(socket, { protocol: 'v1' }, secret);
      const key = fp === undefined ? { entity: 'docs', id } : { entity: 'docs', id, fp };
      conn.receive(JSON.stringify({ action: 'subscribe', body: key, ref: ++ref, ...(deltas ? { deltas: true } : {}) }));
      await tick();
      return { socket, conn };
    },
  };
}

/** What a client holding `held` has after the delta frame `frame`. */
function applied(held: unknown, frame: Record<string, unknown>): unknown {
  return applyDelta(held, frame.ops as DeltaOp[]);
}

describe('delta frames (core)', () => {
  it('computes one delta per (key, group) and fetch, sends it to every subscriber that asked, data to the others', async () => {
    const t = setup('shared');
    const a = await t.connect();
    const b = await t.connect();
    const legacyClient = await t.connect({ deltas: false });
    for (const { socket } of [a, b, legacyClient]) expect(socket.of('data')).toHaveLength(1);

    const next = doc('second');
    await t.set('d1', next);

    const [deltaA] = a.socket.of('delta');
    const [deltaB] = b.socket.of('delta');
    expect(a.socket.raw.at(-1)).toBe(b.socket.raw.at(-1)); // the same string, built once
    expect(deltaA).toMatchObject({ entity: 'docs', id: 'd1', base: valueFingerprint(doc('first')), fp: valueFingerprint(next) });
    expect(deltaA!.ops).toEqual([[['title'], 'second']]);
    expect(applied(doc('first'), deltaB!)).toEqual(next);
    expect(legacyClient.socket.of('data').at(-1)).toEqual({ type: 'data', entity: 'docs', id: 'd1', data: next });
    expect(t.sync.stats()).toMatchObject({ deltasComputed: 1, deltaFramesSent: 2 });
    expect(a.socket.raw.at(-1)!.length * 5).toBeLessThan(legacyClient.socket.raw.at(-1)!.length);
    await t.sync.close();
  });

  it('computes once per group: one per client with scope client, one per secret with scope secret', async () => {
    const perClient = setup('client');
    await perClient.connect();
    await perClient.connect();
    await perClient.set('d1', doc('second'));
    expect(perClient.sync.stats()).toMatchObject({ deltasComputed: 2, deltaFramesSent: 2 });
    await perClient.sync.close();

    const perSecret = setup('secret');
    await perSecret.connect({ secret: 's1' });
    await perSecret.connect({ secret: 's1' });
    await perSecret.connect({ secret: 's2' });
    await perSecret.set('d1', doc('second'));
    expect(perSecret.sync.stats()).toMatchObject({ deltasComputed: 2, deltaFramesSent: 3 });
    await perSecret.sync.close();
  });

  it('sends a resuming client a delta only when it holds the base, else the value', async () => {
    const t = setup('shared');
    await t.connect(); // keeps the key subscribed
    await t.set('d1', doc('second')); // base: first, current: second
    const holdsBase = await t.connect({ fp: valueFingerprint(doc('first')) });
    const holdsOther = await t.connect({ fp: valueFingerprint(doc('zeroth')) });
    expect(applied(doc('first'), holdsBase.socket.of('delta')[0]!)).toEqual(doc('second'));
    expect(holdsBase.socket.of('data')).toEqual([]);
    expect(holdsOther.socket.of('delta')).toEqual([]);
    expect(holdsOther.socket.of('data')).toEqual([{ type: 'data', entity: 'docs', id: 'd1', data: doc('second') }]);
    await t.sync.close();
  });

  it('sends the value when the client said it holds something else (its fallback after a delta it could not apply)', async () => {
    const t = setup('shared');
    const a = await t.connect();
    await t.set('d1', doc('second'));
    expect(a.socket.of('delta')).toHaveLength(1);
    const before = a.socket.raw.length;
    a.conn.receive(JSON.stringify({ action: 'subscribe', body: { entity: 'docs', id: 'd1', fp: valueFingerprint(doc('first')) }, ref: 9 }));
    await tick();
    expect(a.socket.frames.slice(before)).toEqual([
      { type: 'data', entity: 'docs', id: 'd1', data: doc('second') },
      { type: 'ack', ref: 9 },
    ]);
    await t.sync.close();
  });

  it('sends the value below minBytes, and when the delta is not smaller than maxRatio of it', async () => {
    const t = setup('shared', { deltas: { minBytes: 1_000, maxRatio: 0.5 } });
    t.store.set('small', { n: 1 });
    const small = await t.connect({ id: 'small' });
    await t.set('small', { n: 2 });
    expect(small.socket.of('delta')).toEqual([]);
    expect(small.socket.of('data').at(-1)).toMatchObject({ data: { n: 2 } });

    const big = await t.connect();
    const rewritten = { id: 'd1', title: 'x', rows: (doc('first').rows as unknown[]).map((_, i) => ({ n: -i - 1 })) };
    await t.set('d1', rewritten);
    expect(big.socket.of('delta')).toEqual([]);
    expect(big.socket.of('data').at(-1)).toMatchObject({ data: rewritten });
    expect(t.sync.stats()).toMatchObject({ deltasComputed: 1, deltaFramesSent: 0 });
    await t.sync.close();
  });

  it('sends the value to a client that reads slowly (a waiting delta could be replaced by a later one)', async () => {
    const t = setup('shared', { deltas: { minBytes: 1_000 }, highWaterMark: 100 });
    const slow = await t.connect();
    slow.socket.bufferedAmount = 1_000;
    await t.set('d1', doc('second'));
    slow.socket.bufferedAmount = 0;
    (slow.conn as unknown as { drained(): void }).drained();
    expect(slow.socket.of('delta')).toEqual([]);
    expect(slow.socket.of('data').at(-1)).toMatchObject({ data: doc('second') });
    await t.sync.close();
  });

  it('is off by default: a client asking for deltas gets data frames', async () => {
    const t = setup('shared', {});
    const a = await t.connect();
    await t.set('d1', doc('second'));
    expect(a.socket.of('delta')).toEqual([]);
    expect(t.sync.stats()).toMatchObject({ deltasComputed: 0, deltaFramesSent: 0 });
    await t.sync.close();
  });

  it('rejects a bad deltas option with a clear error', () => {
    expect(() => createEntitySync({ deltas: { minBytes: -1 } })).toThrow(/deltas.minBytes/);
    expect(() => createEntitySync({ deltas: { maxRatio: 2 } })).toThrow(/deltas.maxRatio/);
    expect(() => createEntitySync({ deltas: { minByte: 1 } as never })).toThrow(/minByte/);
    expect(() => createEntitySync({ deltas: 'yes' as never })).toThrow(/deltas/);
  });

  it('answers a subscribe whose deltas is not a boolean with BAD_MESSAGE', async () => {
    const t = setup('shared');
    const socket = new FakeSocket();
    const conn = t.sync.accept(socket, { protocol: 'v1' });
    conn.receive(JSON.stringify({ action: 'subscribe', body: { entity: 'docs', id: 'd1' }, deltas: 'yes', ref: 1 }));
    await tick();
    expect(socket.of('error')).toEqual([{ type: 'error', ref: 1, code: 'BAD_MESSAGE', message: 'deltas must be a boolean' }]);
    await t.sync.close();
  });
});
