import { createEntitySync } from '@entity-sync/core';
import { Teardown, TestClient } from '@entity-sync/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../support.js';
import { barrier, dataFrames, errorFrames, sleep } from './frames.js';

/**
 * Issue 11, secret expiry: `authenticate` may return `{ secret, expiresAt }` and a v1 `secret`
 * action may carry `expiresAt`. At that time the connection gets `SECRET_EXPIRED` (v1; legacy
 * nothing) and no more data until a new secret arrives; after it, data resumes.
 */
const leftovers = new Teardown();
afterEach(leftovers.run);

const KEY = { entity: 'items', id: '1' };

async function start() {
  let v = 0;
  // Pass-through answers a ping: a barrier for legacy clients, which get no acks.
  const sync = createEntitySync({ onPassThrough: (message, ctx) => ctx.reply({ pong: (message as { ping: number }).ping }) });
  // Synchronous and shared: one notify writes to every subscriber in one go, so a frame that
  // reaches the watcher tells that the expired client would have had it by then.
  sync.registerEntity('items', { scope: 'shared', fetch: (k) => ({ id: k.id, v }) });
  const server = await serve(sync, {
    authenticate: (req) => {
      const secret = req.headers['x-secret'] as string | undefined;
      const expires = req.headers['x-expires'] as string | undefined;
      return expires === undefined ? secret : { secret: secret ?? '', expiresAt: Number(expires) };
    },
  });
  leftovers.push(sync, server);
  const connect = async (headers: Record<string, string> = {}, protocol: 'v1' | 'legacy' = 'v1') =>
    leftovers.add(await TestClient.connect(server.url, { headers, protocol }));
  // A client whose secret never expires sees every change.
  const watcher = await connect();
  expect(await watcher.request({ action: 'subscribe', body: KEY }, 'w')).toEqual({ type: 'ack', ref: 'w' });
  /** Writes, notifies and waits until the change was written to every subscriber. */
  const write = async () => {
    const next = ++v;
    await sync.notifyAllOfChange(KEY);
    await watcher.waitFor((f) => f.type === 'data' && f.data.v === next);
    return next;
  };
  return { sync, server, connect, write };
}

let pings = 0;
/** Waits until the server handled what a legacy client sent before, and wrote what that caused. */
async function legacyBarrier(client: TestClient): Promise<void> {
  const ping = ++pings;
  client.send({ ping });
  await client.waitFor((f) => f.pong === ping);
}

const expiredFrame = { type: 'error', code: 'SECRET_EXPIRED', message: 'the secret expired: send a new one' };

describe('secret expiry', () => {
  it('authenticate with expiresAt in the near future: SECRET_EXPIRED at expiry, no data until a new secret, then data resumes', async () => {
    const { connect, write } = await start();
    const client = await connect({ 'x-secret': 'old', 'x-expires': String(Date.now() + 1_500) });
    expect(await client.request({ action: 'subscribe', body: KEY }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(dataFrames(client, KEY).map((f) => f.data.v)).toEqual([0]);
    expect(await write()).toBe(1);
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1); // still valid
    expect(await client.next((f) => f.type === 'error', 10_000)).toEqual(expiredFrame);
    await write();
    await write();
    await barrier(client);
    expect(dataFrames(client, KEY).map((f) => f.data.v)).toEqual([0, 1]);
    // A new secret: the key is authorized and fetched again, and changes flow.
    expect(await client.request({ action: 'secret', body: 'new' }, 'k')).toEqual({ type: 'ack', ref: 'k' });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 3);
    await write();
    await client.waitFor((f) => f.type === 'data' && f.data.v === 4);
    expect(errorFrames(client, 'SECRET_EXPIRED')).toHaveLength(1);
  });

  it('expiresAt in the past: expired from the start; a subscribe gets SECRET_EXPIRED for its key, then a new secret serves it', async () => {
    const { connect, write } = await start();
    const client = await connect({ 'x-secret': 'old', 'x-expires': String(Date.now() - 60_000) });
    await client.waitFor((f) => f.code === 'SECRET_EXPIRED');
    const reply = await client.request({ action: 'subscribe', body: KEY }, 's');
    expect(reply).toEqual({ ...expiredFrame, ...KEY, ref: 's' });
    await write();
    await barrier(client);
    expect(dataFrames(client)).toEqual([]);
    expect(await client.request({ action: 'secret', body: 'new' }, 'k')).toEqual({ type: 'ack', ref: 'k' });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1);
    await write();
    await client.waitFor((f) => f.type === 'data' && f.data.v === 2);
  });

  it("the secret action's expiresAt expires that secret; a later secret without it clears the expiry", async () => {
    const { connect, write } = await start();
    const client = await connect();
    expect(await client.request({ action: 'subscribe', body: KEY }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(await client.request({ action: 'secret', body: 'a', expiresAt: Date.now() + 300 }, 'a')).toEqual({ type: 'ack', ref: 'a' });
    expect(await client.next((f) => f.type === 'error', 10_000)).toEqual(expiredFrame);
    await write();
    await barrier(client);
    const before = dataFrames(client).length;
    // A fresh secret with a far expiry, then one without: neither expires in the next moments.
    expect(await client.request({ action: 'secret', body: 'b', expiresAt: Date.now() + 300 }, 'b')).toEqual({ type: 'ack', ref: 'b' });
    expect(await client.request({ action: 'secret', body: 'c' }, 'c')).toEqual({ type: 'ack', ref: 'c' });
    await sleep(600); // past b's expiry
    const v = await write();
    await client.waitFor((f) => f.type === 'data' && f.data.v === v);
    expect(dataFrames(client).length).toBeGreaterThan(before);
    expect(errorFrames(client, 'SECRET_EXPIRED')).toHaveLength(1);
  });

  it('reauthorize does not bring an expired connection back: only a new secret does', async () => {
    const { sync, connect, write } = await start();
    const client = await connect({ 'x-secret': 'old', 'x-expires': String(Date.now() + 1_500) });
    expect(await client.request({ action: 'subscribe', body: KEY }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(await client.next((f) => f.type === 'error', 10_000)).toEqual(expiredFrame);
    await sync.reauthorize({ all: true });
    await sync.reauthorize({ secret: 'old' });
    await write();
    await barrier(client);
    expect(dataFrames(client, KEY).map((f) => f.data.v)).toEqual([0]);
    expect(await client.request({ action: 'secret', body: 'new' }, 'k')).toEqual({ type: 'ack', ref: 'k' });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1);
  });

  it('authenticate returning an expiresAt that is not a time refuses the upgrade with 500', async () => {
    const { server } = await start();
    for (const expires of ['soon', 'NaN']) {
      await expect(TestClient.connect(server.url, { headers: { 'x-expires': expires } })).rejects.toThrow('HTTP 500');
    }
  });

  it('a bad expiresAt is BAD_MESSAGE', async () => {
    const { connect } = await start();
    const client = await connect();
    for (const expiresAt of ['soon', '1e3', {}]) {
      const reply = await client.request({ action: 'secret', body: 'x', expiresAt }, `bad-${String(expiresAt)}`);
      expect(reply).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    }
  });

  it('legacy: data stops silently at expiry and resumes after a new secret', async () => {
    const { connect, write } = await start();
    const client = await connect({ 'x-secret': 'old', 'x-expires': String(Date.now() - 60_000) }, 'legacy');
    client.send({ action: 'subscribe', body: KEY });
    await legacyBarrier(client);
    await write();
    await legacyBarrier(client);
    expect(client.frames.filter((frame) => !frame.includes('pong'))).toEqual([]);
    client.send({ action: 'secret', body: 'new' });
    await legacyBarrier(client);
    const v = await write();
    await client.waitFor((f) => f.v === v);
  });
});
