import { request } from 'node:http';
import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { Teardown, TestClient } from '@entity-sync/testing';
import { type AttachOptions, attachWebSocket } from '@entity-sync/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, serve } from './support/server.js';

/**
 * Issue 11, admission control: past `upgradesPerSecond`/`burst` or `maxPendingHandshakes`, an
 * upgrade gets 503 with `Retry-After`; established connections keep working.
 */
const leftovers = new Teardown();
afterEach(leftovers.run);

async function setup(attach: Omit<AttachOptions, 'server' | 'noServer'>): Promise<{ sync: EntitySync; server: RunningServer }> {
  const sync = createEntitySync();
  let v = 0;
  sync.registerEntity('items', { fetch: () => ({ v: v++ }) });
  const server = await serve(sync, attach);
  leftovers.push(sync, server);
  return { sync, server };
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/** Sends one WebSocket upgrade request; a 101 is answered by closing the socket at once. */
function upgrade(server: RunningServer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: server.port,
      path: '/ws/entity-sync/',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Protocol': 'entity-sync.v1',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, retryAfter: undefined });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
    });
    req.on('error', reject);
    req.end();
  });
}

async function client(server: RunningServer): Promise<TestClient> {
  return leftovers.add(await TestClient.connect(server.url));
}

/** The established client still subscribes and gets its value. */
async function stillWorks(c: TestClient, ref: string): Promise<void> {
  c.send({ action: 'subscribe', body: { entity: 'items', id: ref }, ref });
  await c.waitFor((f) => f.type === 'data' && f.id === ref);
  await c.waitFor((f) => f.type === 'ack' && f.ref === ref);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admission control', () => {
  it('past burst (and the refill rate) upgrades get 503 with Retry-After; established connections keep working', async () => {
    const BURST = 5;
    const { server } = await setup({ admission: { upgradesPerSecond: 1, burst: BURST, retryAfterSeconds: 7 } });
    const started = Date.now();
    const established = await client(server); // takes one token
    const answers: Answer[] = [];
    while (answers.at(-1)?.status !== 503) answers.push(await upgrade(server));
    const elapsedS = (Date.now() - started) / 1000;
    const accepted = answers.filter((a) => a.status === 101).length + 1;
    // The bucket starts full (BURST) and refills 1 per second: a slow machine only adds some.
    expect(accepted).toBeGreaterThanOrEqual(BURST);
    expect(accepted).toBeLessThanOrEqual(BURST + Math.ceil(elapsedS));
    expect(answers.at(-1)).toEqual({ status: 503, retryAfter: '7' });
    await stillWorks(established, 'a');
    // After a refill, upgrades are accepted again.
    await sleep(1_200);
    expect((await upgrade(server)).status).toBe(101);
    await stillWorks(established, 'b');
  });

  it('past maxPendingHandshakes (authenticate still running) upgrades get 503; the places come back', async () => {
    const gates: Array<() => void> = [];
    const { server } = await setup({
      admission: { maxPendingHandshakes: 2 },
      authenticate: (req) => {
        if (req.headers['x-refuse'] !== undefined) return false;
        if (req.headers['x-wait'] === undefined) return 'ok';
        return new Promise<string>((resolve) => gates.push(() => resolve('ok')));
      },
    });
    const established = await client(server);
    const waiting = [upgrade(server, { 'x-wait': '1' }), upgrade(server, { 'x-wait': '1' })];
    await expect.poll(() => gates.length).toBe(2);
    expect(await upgrade(server)).toEqual({ status: 503, retryAfter: '1' });
    await stillWorks(established, 'a');
    for (const open of gates) open();
    expect((await Promise.all(waiting)).map((a) => a.status)).toEqual([101, 101]);
    // Finished handshakes gave their places back, refused ones too.
    expect((await upgrade(server, { 'x-refuse': '1' })).status).toBe(401);
    expect((await upgrade(server, { 'x-refuse': '1' })).status).toBe(401);
    expect((await upgrade(server)).status).toBe(101);
    expect((await upgrade(server)).status).toBe(101);
  });

  it('while the node drains, every upgrade gets 503 with Retry-After', async () => {
    const { sync, server } = await setup({ admission: { retryAfterSeconds: 3 } });
    const established = await client(server);
    const draining = sync.drain({ drainMs: 60_000 }); // the only connection goes first
    expect(await upgrade(server)).toEqual({ status: 503, retryAfter: '3' });
    expect((await established.closed).code).toBe(1012);
    await draining;
  });

  it('the defaults let a few hundred upgrades in at once', async () => {
    const { server } = await setup({});
    const answers = await Promise.all(Array.from({ length: 200 }, () => upgrade(server)));
    expect(answers.every((a) => a.status === 101)).toBe(true);
  });

  it('bad admission options are INVALID_OPTIONS', async () => {
    const { sync } = await setup({});
    const bad = [
      { upgradesPerSecond: 0 },
      { burst: -1 },
      { burst: 1.5 },
      { maxPendingHandshakes: 0 },
      { retryAfterSeconds: '1' },
    ] as unknown as Array<NonNullable<AttachOptions['admission']>>;
    for (const admission of bad) {
      expect(() => attachWebSocket(sync, { noServer: true, admission })).toThrow(/INVALID_OPTIONS|admission\./);
    }
    expect(() => attachWebSocket(sync, { noServer: true, admission: 5 as never })).toThrow(/`admission` must be an object/);
  });
});
