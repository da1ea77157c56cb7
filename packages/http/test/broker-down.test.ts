import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { type NatsServer, serveHttp, startNats, TestClient } from '@entity-sync/testing';
import { attachWebSocket } from '@entity-sync/ws';
import { afterEach, expect, it } from 'vitest';
import { post } from './support/http.js';
import { startNotifyServer } from './support/notify-server.js';

/**
 * Over a real nats-server that this test stops and starts: a 202 reaches a client of another
 * node; while the broker is down the endpoint answers 503 with Retry-After (the producer keeps
 * the change and retries); once it is back, the retry is accepted and delivered.
 */
const leftovers: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of leftovers.splice(0).reverse()) await ('close' in item ? item.close() : item.stop());
});

it('503 while the NATS broker is stopped, 202 again once it is back', async () => {
  const nats: NatsServer = await startNats();
  leftovers.push(nats);
  const prefix = `http-down-${process.pid}`;
  const broker = () => createNatsBroker({ servers: nats.url });

  // Node a takes HTTP notifies; node b serves the WebSocket client.
  const a = await startNotifyServer({ sync: { broker: broker(), prefix, busTimeoutMs: 500 }, handler: { retryAfterSeconds: 2 } });
  leftovers.push(a);
  const versions = new Map<string, number>([['1', 1]]);
  const b: EntitySync = createEntitySync({ broker: broker(), prefix });
  b.registerEntity('items', { fetch: (key) => ({ v: versions.get(key.id) }) });
  leftovers.push(b);
  await Promise.all([a.sync.ready(), b.ready()]);
  const server = await serveHttp((http) => attachWebSocket(b, { server: http }));
  leftovers.push(server);
  const client = await TestClient.connect(server.url);
  leftovers.push(client);
  expect(await client.request({ action: 'subscribe', body: { entity: 'items', id: '1' } }, 1)).toEqual({ type: 'ack', ref: 1 });
  await client.waitFor((f) => f.type === 'data' && f.data.v === 1);

  const keys = { keys: [{ entity: 'items', id: '1' }] };
  versions.set('1', 2);
  expect(await post(a.notifyUrl, keys)).toMatchObject({ status: 202, body: { notified: 1 } });
  await client.waitFor((f) => f.type === 'data' && f.data.v === 2);

  await nats.stop();
  await expect.poll(() => a.sync.stats().bus, { timeout: 10_000 }).toBe('down');
  versions.set('1', 3);
  const refused = await post(a.notifyUrl, keys);
  expect(refused).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
  expect(refused.headers.get('retry-after')).toBe('2');
  expect(a.errors.some((e) => e.code === 'PUBLISH_FAILED')).toBe(true);

  await nats.start();
  await expect.poll(() => [a.sync.stats().bus, b.stats().bus], { timeout: 20_000 }).toEqual(['up', 'up']);
  // b refetched what it holds on recovery (v 3); a change after that travels through the endpoint.
  await client.waitFor((f) => f.type === 'data' && f.data.v === 3);
  versions.set('1', 4);
  expect(await post(a.notifyUrl, keys)).toMatchObject({ status: 202 });
  await client.waitFor((f) => f.type === 'data' && f.data.v === 4);
}, 60_000);
