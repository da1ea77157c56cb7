import { LatencyProxy, TestClient } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodeProcess } from './cluster/node-process.js';

/**
 * Issue 13, from outside: the node in its own process, its broker 1 ms away (a latency proxy),
 * and a client that sends `subscribe` and then, as a separate write, a secret that `authorize`
 * refuses. Whatever the interleaving, no value fetched with the refused secret reaches it.
 */
const TRIES = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['nats', 'redis'] as const)('a secret change racing a pending subscribe over %s', (broker) => {
  let proxy: LatencyProxy;
  let node: NodeProcess;
  beforeAll(async () => {
    const url = new URL(inject(broker === 'nats' ? 'natsUrl' : 'redisUrl'));
    proxy = await LatencyProxy.start({ port: Number(url.port) }, 1);
    const urls = [`${url.protocol}//127.0.0.1:${proxy.port}`];
    node = await NodeProcess.start({ broker, urls, prefix: `race-${broker}-${process.pid}`, storeUrl: 'http://127.0.0.1:9' });
  }, 30_000);
  afterAll(async () => {
    await node?.stop();
    await proxy?.close();
  });

  it(`${TRIES} tries: no value fetched with a refused secret reaches the client`, async (ctx) => {
    let raced = 0;
    const leaks: unknown[] = [];
    for (let i = 0; i < TRIES; i++) {
      const client = await TestClient.connect(node.url);
      expect(await client.request({ action: 'secret', body: 'good' }, 'good')).toEqual({ type: 'ack', ref: 'good' });
      const key = { entity: 'secured', id: `k${i}` };
      client.send({ action: 'subscribe', body: key, ref: 'sub' });
      await sleep(i % 3); // the refused secret lands before, while or after authorize answers
      client.send({ action: 'secret', body: 'bad', ref: 'bad' });
      const [subReply, secretAck] = await Promise.all([client.waitFor((f) => f.ref === 'sub'), client.waitFor((f) => f.ref === 'bad')]);
      expect(secretAck).toEqual({ type: 'ack', ref: 'bad' });
      const order = client.messages as any[];
      if (order.indexOf(secretAck) < order.indexOf(subReply)) raced++;
      // A later change must not stream either; the barrier's ack follows anything it caused.
      await node.notify([key.id], 'secured');
      expect(await client.request({ action: 'unsubscribe', body: { entity: 'secured', id: 'none' } }, 'barrier')).toEqual({
        type: 'ack',
        ref: 'barrier',
      });
      leaks.push(...order.filter((f) => f.type === 'data' && f.data?.as !== 'good'));
      await client.close();
    }
    ctx.annotate(`${raced} of ${TRIES} tries applied the refused secret while the subscribe was pending`);
    expect(raced).toBeGreaterThan(0); // the race was exercised
    expect(leaks).toEqual([]);
  }, 120_000);
});
