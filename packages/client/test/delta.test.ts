import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntitySync, type SocketLike } from '@entity-sync/core';
import { pollUntil, Teardown } from '@entity-sync/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { attachWebSocket } from '@entity-sync/ws';
import { applyDelta } from '../src/delta.js';
import { type ClientError, createClient } from '../src/index.js';

interface Doc {
  id: string;
  title: string;
  rows: Array<{ n: number; text: string }>;
}

/** A document of about 10 KB of JSON whose title is the field that changes. */
function doc(title: string): Doc {
  return { id: 'd1', title, rows: Array.from({ length: 250 }, (_, n) => ({ n, text: `row ${n} of the document` })) };
}

const teardown = new Teardown();
afterEach(() => teardown.run());

/**
 * A real node with deltas on, behind a real WebSocket server on loopback. Every frame the node
 * writes passes `tamper` first; `received` collects the client messages it reads.
 */
async function start(tamper: (frame: string) => string = (f) => f) {
  const sync = createEntitySync({ deltas: { minBytes: 1_000 } });
  let current = doc('v0');
  sync.registerEntity('docs', { scope: 'shared', fetch: () => current });
  const received: Array<Record<string, unknown>> = [];
  intercept(sync, tamper, received);
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = attachWebSocket(sync, { server: http });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  teardown.add({
    async close() {
      await sync.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  });
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws/entity-sync/`;
  const set = async (title: string) => {
    current = doc(title);
    await sync.notifyAllOfChange({ entity: 'docs', id: 'd1' });
  };
  return { sync, url, set, received };
}

/** Wraps `sync.accept`: outgoing frames through `tamper`, incoming messages recorded. */
function intercept(sync: EntitySync, tamper: (frame: string) => string, received: Array<Record<string, unknown>>): void {
  const accept = sync.accept.bind(sync);
  sync.accept = (socket, options, secret) => {
    const wrapped: SocketLike = {
      send: (data) => socket.send(typeof data === 'string' ? tamper(data) : data),
      close: (code, reason) => socket.close(code, reason),
      get bufferedAmount() {
        return socket.bufferedAmount ?? 0;
      },
    };
    const handle = accept(wrapped, options, secret);
    return {
      id: handle.id,
      receive: (data) => {
        received.push(JSON.parse(String(data)) as Record<string, unknown>);
        handle.receive(data);
      },
      drained: () => handle.drained(),
      closed: () => handle.closed(),
    };
  };
}

function watch(url: string) {
  const client = createClient<{ docs: Doc }>({ url, WebSocket, deltas: applyDelta });
  const errors: ClientError[] = [];
  client.on('error', (e) => errors.push(e));
  const titles: string[] = [];
  client.subscribe({ entity: 'docs', id: 'd1' }, (value) => titles.push(value?.title ?? 'null'));
  teardown.add({
    async close() {
      await client.close();
      expect(errors).toEqual([]);
    },
  });
  return titles;
}

describe('delta frames over a real socket', () => {
  it('sends one field changed in a 10 KB value as a delta the client applies', async () => {
    const server = await start();
    const titles = watch(server.url);
    await pollUntil(() => titles.includes('v0'), { what: 'the snapshot' });
    const before = server.sync.stats();
    for (let i = 1; i <= 5; i++) {
      await server.set(`v${i}`);
      await pollUntil(() => titles.at(-1) === `v${i}`, { what: `update v${i}` });
    }
    const after = server.sync.stats();
    expect(titles).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    expect(after.deltaFramesSent - before.deltaFramesSent).toBe(5);
    expect(server.received[0]).toMatchObject({ action: 'subscribe', deltas: true });
    const bytesPerUpdate = (after.bytesSent - before.bytesSent) / 5;
    expect(bytesPerUpdate * 5).toBeLessThan(JSON.stringify(doc('v1')).length); // at least 5x fewer bytes
  });

  it('falls back to the whole value when a delta does not give the fingerprinted value', async () => {
    let corrupted = 0;
    const server = await start((frame) => {
      if (!frame.startsWith('{"type":"delta"') || corrupted++ > 0) return frame;
      return frame.replace(/"fp":\d+/, '"fp":1'); // the first delta's result cannot match
    });
    const titles = watch(server.url);
    await pollUntil(() => titles.includes('v0'), { what: 'the snapshot' });
    await server.set('v1');
    await pollUntil(() => titles.at(-1) === 'v1', { what: 'the whole value after the bad delta' });
    await server.set('v2');
    await pollUntil(() => titles.at(-1) === 'v2', { what: 'the next update' });
    expect(titles).toEqual(['v0', 'v1', 'v2']);
    const subscribes = server.received.filter((m) => m.action === 'subscribe');
    expect(subscribes).toHaveLength(2);
    expect(subscribes[1]!.body).toMatchObject({ entity: 'docs', id: 'd1', fp: expect.any(Number) });
    expect(server.sync.stats().deltaFramesSent).toBe(2); // the corrupted one, and v2's
  });
});
