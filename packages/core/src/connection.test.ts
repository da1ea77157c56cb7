import { describe, expect, it } from 'vitest';
import { createEntitySync } from './node.js';
import type { SocketLike } from './types.js';

/** A socket whose backlog the test sets, recording what the connection writes. */
class FakeSocket implements SocketLike {
  readonly sent: unknown[] = [];
  bufferedAmount = 0;
  send(data: string | Uint8Array): void {
    this.sent.push(JSON.parse(String(data)));
  }
  close(): void {}
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Connection', () => {
  it('drops the values waiting in its outbox when the secret changes: none fetched with the old secret is written after', async () => {
    const sync = createEntitySync({ highWaterMark: 100 });
    let version = 0;
    sync.registerEntity('docs', {
      fetch: (_key, ctx) => ({ v: version, as: ctx.secret }),
      authorize: (key, ctx) => ctx.secret === 'old' || key.id === 'even',
    });
    const socket = new FakeSocket();
    const connection = sync.accept(socket, { protocol: 'v1' }, 'old');
    connection.receive(
      JSON.stringify({
        action: 'subscribe',
        body: [
          { entity: 'docs', id: 'odd' },
          { entity: 'docs', id: 'even' },
        ],
        ref: 1,
      }),
    );
    await tick();
    expect(socket.sent.at(-1)).toEqual({ type: 'ack', ref: 1 });

    socket.bufferedAmount = 1_000; // the client stopped reading: values wait in the outbox
    version = 1;
    await sync.notifyAllOfChange([
      { entity: 'docs', id: 'odd' },
      { entity: 'docs', id: 'even' },
    ]);
    await tick();
    const before = socket.sent.length;
    connection.receive(JSON.stringify({ action: 'secret', body: 'new', ref: 2 }));
    await tick();
    socket.bufferedAmount = 0;
    connection.drained();
    await tick();

    const after = socket.sent.slice(before);
    expect(after).toContainEqual({ type: 'ack', ref: 2 });
    expect(after).toContainEqual(expect.objectContaining({ type: 'error', code: 'FORBIDDEN', id: 'odd' }));
    expect(after.filter((f: any) => f.type === 'data')).toEqual([{ type: 'data', entity: 'docs', id: 'even', data: { v: 1, as: 'new' } }]);
    await sync.close();
  });

  it('sends again a value dropped from its outbox by a secret change, though the refetch has the same bytes', async () => {
    const sync = createEntitySync({ highWaterMark: 100 });
    let version = 0;
    sync.registerEntity('docs', { fetch: () => ({ v: version }) });
    const socket = new FakeSocket();
    const connection = sync.accept(socket, { protocol: 'v1' }, 'old');
    connection.receive(JSON.stringify({ action: 'subscribe', body: { entity: 'docs', id: '1' }, ref: 1 }));
    await tick();
    expect(socket.sent.filter((f: any) => f.type !== 'connected')).toEqual([
      { type: 'data', entity: 'docs', id: '1', data: { v: 0 } },
      { type: 'ack', ref: 1 },
    ]);

    socket.bufferedAmount = 1_000; // { v: 1 } waits in the outbox
    version = 1;
    await sync.notifyAllOfChange({ entity: 'docs', id: '1' });
    await tick();
    connection.receive(JSON.stringify({ action: 'secret', body: 'new', ref: 2 })); // drops it; the refetch reads { v: 1 } again
    await tick();
    socket.bufferedAmount = 0;
    connection.drained();
    await tick();

    expect(socket.sent.filter((f: any) => f.type === 'data').at(-1)).toEqual({ type: 'data', entity: 'docs', id: '1', data: { v: 1 } });
    await sync.close();
  });
});
