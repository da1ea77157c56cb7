import { valueFingerprint } from '@entity-sync/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { Client } from './client.js';
import { FakeSocket, startFakeClient, useFakeClientClock } from './fake-socket.test-helper.js';
import type { ClientOptions, DataMeta } from './types.js';

const items = (id: string) => ({ entity: 'items', id });
const data = (id: string, value: unknown) => ({ type: 'data', entity: 'items', id, data: value });

let client: Client;

useFakeClientClock(() => client);

/** A client with keys 1 (value `{ v: 1 }`), 2 (value `null`) and 3 (no value yet), then a drop and a new open. */
async function reconnected(options: Partial<ClientOptions> = {}) {
  ({ client } = startFakeClient(options));
  const socket = FakeSocket.last();
  socket.open();
  const seen: [unknown, boolean][] = [];
  client.subscribe(items('1'), (value, meta: DataMeta) => seen.push([value, meta.snapshot]));
  client.subscribe(items('2'), () => {});
  client.subscribe(items('3'), () => {});
  await Promise.resolve();
  socket.receive(data('1', { v: 1 }));
  socket.receive(data('2', null));
  socket.ackLast();
  socket.drop(1006);
  vi.advanceTimersByTime(100);
  const next = FakeSocket.last();
  next.open();
  return { seen, socket: next, frame: next.sent.at(-1)! };
}

describe('resume by fingerprint', () => {
  it('sends the fingerprint of each value held (null too) and none for a key without a value', async () => {
    const { frame } = await reconnected();
    expect(frame.body).toEqual([
      { ...items('1'), fp: valueFingerprint({ v: 1 }) },
      { ...items('2'), fp: valueFingerprint(null) },
      items('3'),
    ]);
  });

  it('on an ack without data, hands listeners the value they hold again (the same object), as a snapshot', async () => {
    const { seen, socket, frame } = await reconnected();
    socket.receive(data('3', 'three'));
    socket.receive({ type: 'ack', ref: frame.ref });
    expect(seen).toEqual([
      [{ v: 1 }, true],
      [{ v: 1 }, true],
    ]);
    expect(seen[1]![0]).toBe(seen[0]![0]);
    socket.receive(data('1', { v: 2 }));
    expect(seen.at(-1)).toEqual([{ v: 2 }, false]);
  });

  it('delivers a value that came before the ack (the value changed) once, and not again at the ack', async () => {
    const { seen, socket, frame } = await reconnected();
    socket.receive(data('1', { v: 2 }));
    socket.ackLast();
    expect(frame.ref).toBe(socket.sent.at(-1)!.ref);
    expect(seen.slice(1)).toEqual([[{ v: 2 }, true]]);
  });

  it('does not hand the value again when the key got an error instead of the ack', async () => {
    const { seen, socket, frame } = await reconnected();
    socket.receive({ type: 'error', ref: frame.ref, code: 'FETCH_FAILED', message: 'x', entity: 'items', id: '1' });
    socket.receive({ type: 'ack', ref: frame.ref });
    expect(seen).toHaveLength(1);
  });

  it('sends no fingerprint with resume: false', async () => {
    const { frame } = await reconnected({ resume: false });
    expect(frame.body).toEqual([items('1'), items('2'), items('3')]);
  });

  it('puts the fingerprint on a query key too', async () => {
    ({ client } = startFakeClient());
    const socket = FakeSocket.last();
    socket.open();
    client.subscribe({ entity: 'list', params: { owner: '7' } } as never, () => {});
    await Promise.resolve();
    socket.receive({ type: 'data', entity: 'list', id: '{"owner":"7"}', data: ['a'] });
    socket.ackLast();
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent.at(-1)!.body).toEqual([{ entity: 'list', params: { owner: '7' }, fp: valueFingerprint(['a']) }]);
  });

  it('a watch loop gets the held value again after a resumed reconnect', async () => {
    ({ client } = startFakeClient());
    const socket = FakeSocket.last();
    socket.open();
    const iterator = client.watch(items('1'));
    await Promise.resolve();
    socket.receive(data('1', 'a'));
    socket.ackLast();
    await expect(iterator.next()).resolves.toEqual({ value: 'a', done: false });
    socket.drop(1006);
    vi.advanceTimersByTime(100);
    FakeSocket.last().open();
    FakeSocket.last().ackLast();
    await expect(iterator.next()).resolves.toEqual({ value: 'a', done: false });
    await iterator.return!();
  });
});
