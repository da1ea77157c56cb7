import { diffJson, valueFingerprint } from '@entity-sync/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Client, createClient } from './client.js';
import { applyDelta } from './delta.js';
import type { ClientError } from './errors.js';
import { FakeSocket } from './fake-socket.test-helper.js';

const key = { entity: 'docs', id: 'd1' };
const v1 = { id: 'd1', title: 'first', tags: ['a', 'b'] };
const v2 = { id: 'd1', title: 'second', tags: ['a'] };

/** The delta frame a server sends to move a client from `from` to `to`. */
function deltaFrame(from: unknown, to: unknown, fp = valueFingerprint(to)) {
  return { type: 'delta', ...key, base: valueFingerprint(from), fp, ops: diffJson(from, to) };
}

let client: Client;
let socket: FakeSocket;
let seen: Array<[unknown, boolean]>;
let errors: ClientError[];

/** A client subscribed to `key`, holding `v1`, acked. */
async function subscribed(): Promise<void> {
  client = createClient({ url: 'ws://test/', WebSocket: FakeSocket, deltas: applyDelta });
  errors = [];
  client.on('error', (e) => errors.push(e));
  socket = FakeSocket.last();
  socket.open();
  seen = [];
  client.subscribe(key, (value, meta) => seen.push([value, meta.snapshot]));
  await Promise.resolve();
  socket.receive({ type: 'data', ...key, data: v1 });
  socket.ackLast();
}

beforeEach(() => {
  FakeSocket.instances = [];
});
afterEach(async () => {
  await client.close();
});

describe('delta frames (client)', () => {
  it('says on every subscribe that it applies deltas, and only with the deltas option', async () => {
    await subscribed();
    expect(socket.sent).toEqual([{ action: 'subscribe', body: [key], ref: 1, deltas: true }]);
    const plain = createClient({ url: 'ws://test/', WebSocket: FakeSocket });
    FakeSocket.last().open();
    plain.subscribe(key, () => {});
    await Promise.resolve();
    expect(FakeSocket.last().sent).toEqual([{ action: 'subscribe', body: [key], ref: 1 }]);
    await plain.close();
  });

  it('without the deltas option, a delta frame (the server should not send one) asks for the whole value', async () => {
    client = createClient({ url: 'ws://test/', WebSocket: FakeSocket });
    socket = FakeSocket.last();
    socket.open();
    const values: unknown[] = [];
    client.subscribe(key, (value) => values.push(value));
    await Promise.resolve();
    socket.receive({ type: 'data', ...key, data: v1 });
    socket.ackLast();
    socket.receive(deltaFrame(v1, v2));
    expect(values).toEqual([v1]);
    expect(socket.sent.at(-1)).toEqual({ action: 'subscribe', body: { ...key, fp: valueFingerprint(v1) }, ref: 2 });
  });

  it('applies a delta to the value it holds and hands the result to its watchers as an update', async () => {
    await subscribed();
    socket.receive(deltaFrame(v1, v2));
    expect(seen).toEqual([
      [v1, true],
      [v2, false],
    ]);
    expect(v1.tags).toEqual(['a', 'b']); // the value handed out before is left as it was
    socket.receive(deltaFrame(v2, { ...v2, title: 'third' }));
    expect(seen.at(-1)).toEqual([{ ...v2, title: 'third' }, false]);
    expect(socket.sent).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('asks for the whole value, saying what it holds, when the result does not have the fingerprint', async () => {
    await subscribed();
    socket.receive(deltaFrame(v1, v2, 12345));
    expect(seen).toEqual([[v1, true]]);
    expect(socket.sent.at(-1)).toEqual({ action: 'subscribe', body: { ...key, fp: valueFingerprint(v1) }, ref: 2, deltas: true });
    socket.receive({ type: 'data', ...key, data: v2 });
    socket.ackLast();
    expect(seen.at(-1)).toEqual([v2, true]);
    expect(errors).toEqual([]);
  });

  it('asks for the whole value when the delta starts from a value it does not hold', async () => {
    await subscribed();
    socket.receive(deltaFrame({ ...v1, title: 'second' }, v2)); // its ops leave the title alone
    expect(seen).toEqual([[v1, true]]);
    expect(socket.sent.at(-1)).toMatchObject({ action: 'subscribe', body: { ...key, fp: valueFingerprint(v1) } });
  });

  it('asks for the whole value when it holds none yet, or the ops are not a delta', async () => {
    client = createClient({ url: 'ws://test/', WebSocket: FakeSocket });
    socket = FakeSocket.last();
    socket.open();
    const values: unknown[] = [];
    client.subscribe(key, (value) => values.push(value));
    await Promise.resolve();
    socket.receive(deltaFrame(v1, v2));
    expect(socket.sent.at(-1)).toMatchObject({ action: 'subscribe', body: { ...key, fp: valueFingerprint(undefined) } });
    socket.receive({ type: 'data', ...key, data: v1 });
    socket.receive({ type: 'delta', ...key, base: 1, fp: 2, ops: [[{}, 1]] });
    expect(socket.sent).toHaveLength(3);
    expect(values).toEqual([v1]);
  });

  it('ignores a delta for a key it does not hold', async () => {
    await subscribed();
    socket.receive({ ...deltaFrame(v1, v2), id: 'other' });
    expect(socket.sent).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
