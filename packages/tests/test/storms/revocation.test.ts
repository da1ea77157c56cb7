import { TestClient } from '@entity-sync/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodeProcess } from '../cluster/node-process.js';
import type { AccessRequest } from '../cluster/protocol.js';
import { barrier, dataFrames, errorFrames } from './frames.js';

/**
 * Issue 11, revocation across a cluster of 3 node processes on NATS and on Redis:
 * `reauthorize(filter)` called on one node reruns `identify` + `authorize` for the matching
 * connections on every node (newly forbidden keys get FORBIDDEN and no further data);
 * `revoke(filter, { code })` closes them everywhere. Filters by secret, by user id (the nodes
 * have `identify`: secret `user.x` is user `user`) and all.
 */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

let tests = 0;

describe.each(['nats', 'redis'] as const)('revocation across 3 node processes over %s', (broker) => {
  const nodes: NodeProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    const urls = [inject(broker === 'nats' ? 'natsUrl' : 'redisUrl')];
    const prefix = `revoke-${broker}-${process.pid}`;
    // Each is kept as it starts, so afterAll stops it even if another fails to start.
    const start = async () =>
      void nodes.push(await NodeProcess.start({ broker, urls, prefix, storeUrl: 'http://127.0.0.1:9', access: true }));
    await Promise.all([start(), start(), start()]);
  }, 240_000); // a node process compiles its TypeScript at start: slow on a busy machine
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
  });
  afterAll(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
  }, 60_000);

  async function ask(node: NodeProcess, request: WithoutSeq<AccessRequest>): Promise<void> {
    const reply = await node.request(request);
    if (reply.type !== 'done') throw new Error(`${request.type} failed: ${JSON.stringify(reply)}`);
  }

  /** Denies on every node (the permission store all nodes read). */
  const deny = (denial: { secret: string; id: string } | { userId: string; id: string }) =>
    Promise.all(nodes.map((node) => ask(node, { type: 'deny', denial })));

  /** A client on node `n` with `secret`, subscribed to `ids` (each key's first value received). */
  async function client(n: number, secret: string, ids: string[]): Promise<TestClient> {
    const c = await TestClient.connect(nodes[n]!.url);
    clients.push(c);
    expect(await c.request({ action: 'secret', body: secret }, 'secret')).toEqual({ type: 'ack', ref: 'secret' });
    const body = ids.map((id) => ({ entity: 'guarded', id }));
    expect(await c.request({ action: 'subscribe', body }, 'sub')).toEqual({ type: 'ack', ref: 'sub' });
    return c;
  }

  const guarded = (id: string) => ({ entity: 'guarded', id });

  /**
   * Notifies `id` then a canary key from node `from`, and waits until every client in `all` got
   * the canary's new value: fetches are synchronous, so by then `id`'s frames are written too.
   */
  async function change(from: number, id: string, canary: string, all: TestClient[]): Promise<void> {
    const seen = all.map((c) => dataFrames(c, guarded(canary)).length);
    await nodes[from]!.notify([id, canary], 'guarded');
    await Promise.all(
      all.map((c, i) => expect.poll(() => dataFrames(c, guarded(canary)).length, { timeout: 15_000 }).toBeGreaterThan(seen[i]!)),
    );
    await Promise.all(all.map((c) => barrier(c)));
  }

  function forbiddenFor(c: TestClient, id: string): unknown[] {
    return errorFrames(c, 'FORBIDDEN').filter((f) => f.entity === 'guarded' && f.id === id);
  }

  it('reauthorize({ secret }) on one node: newly forbidden keys get FORBIDDEN and no further data on every node', async () => {
    const t = ++tests;
    const [x, canary] = [`x${t}`, `c${t}`];
    const victims = await Promise.all([0, 1, 2].map((n) => client(n, `alice.${t}`, [x, canary])));
    const others = await Promise.all([0, 1, 2].map((n) => client(n, `bob.${t}`, [x, canary])));
    const everyone = [...victims, ...others];
    await deny({ secret: `alice.${t}`, id: x });
    // Until reauthorize, nobody asks authorize again: the victims still get x.
    await change(2, x, canary, everyone);
    for (const c of everyone) expect(dataFrames(c, guarded(x))).toHaveLength(2);
    await ask(nodes[1]!, { type: 'reauthorize', filter: { secret: `alice.${t}` } });
    await Promise.all(victims.map((c) => c.waitFor((f) => f.code === 'FORBIDDEN' && f.id === x, 15_000)));
    const before = victims.map((c) => dataFrames(c, guarded(x)).length);
    await change(0, x, canary, everyone);
    await change(2, x, canary, everyone);
    expect(victims.map((c) => dataFrames(c, guarded(x)).length)).toEqual(before);
    for (const c of victims)
      expect(forbiddenFor(c, x)).toEqual([{ type: 'error', code: 'FORBIDDEN', message: expect.any(String), ...guarded(x) }]);
    for (const c of others) {
      expect(dataFrames(c, guarded(x))).toHaveLength(4);
      expect(errorFrames(c, 'FORBIDDEN')).toEqual([]);
    }
    // A resubscribe is refused too.
    expect(await victims[0]!.request({ action: 'subscribe', body: guarded(x) }, 'again')).toMatchObject({
      code: 'FORBIDDEN',
      ref: 'again',
    });
  });

  it('revoke({ secret }, { code: 4403 }) closes the matching connections on every node with 4403', async () => {
    const t = ++tests;
    const victims = await Promise.all([0, 1, 2].map((n) => client(n, `alice.${t}`, [`y${t}`])));
    const others = await Promise.all([0, 1, 2].map((n) => client(n, `bob.${t}`, [`y${t}`])));
    await ask(nodes[0]!, { type: 'revoke', filter: { secret: `alice.${t}` }, code: 4403 });
    expect((await Promise.all(victims.map((c) => c.closed))).map((c) => c.code)).toEqual([4403, 4403, 4403]);
    for (const c of others) await barrier(c); // still open and served
  });

  it('reauthorize({ all: true }) reruns authorize for every connection on every node', async () => {
    const t = ++tests;
    const [x, canary] = [`x${t}`, `c${t}`];
    const alices = await Promise.all([0, 1, 2].map((n) => client(n, `alice.${t}`, [x, canary])));
    const bobs = await Promise.all([0, 1, 2].map((n) => client(n, `bob.${t}`, [x, canary])));
    await deny({ secret: `alice.${t}`, id: x });
    await deny({ secret: `bob.${t}`, id: x });
    await ask(nodes[2]!, { type: 'reauthorize', filter: { all: true } });
    const everyone = [...alices, ...bobs];
    await Promise.all(everyone.map((c) => c.waitFor((f) => f.code === 'FORBIDDEN' && f.id === x, 15_000)));
    const before = everyone.map((c) => dataFrames(c, guarded(x)).length);
    await change(1, x, canary, everyone);
    expect(everyone.map((c) => dataFrames(c, guarded(x)).length)).toEqual(before);
  });

  it('by user id: reauthorize({ userId }) and revoke({ userId }) reach every connection of the user, whatever its secret', async () => {
    const t = ++tests;
    const [x, canary] = [`x${t}`, `c${t}`];
    // Carol holds two secrets on three nodes; dave is another user.
    const carols = await Promise.all([0, 1, 2].map((n) => client(n, `carol${t}.${n}`, [x, canary])));
    const daves = await Promise.all([0, 1, 2].map((n) => client(n, `dave${t}.${n}`, [x, canary])));
    await deny({ userId: `carol${t}`, id: x });
    await ask(nodes[0]!, { type: 'reauthorize', filter: { userId: `carol${t}` } });
    await Promise.all(carols.map((c) => c.waitFor((f) => f.code === 'FORBIDDEN' && f.id === x, 15_000)));
    const before = carols.map((c) => dataFrames(c, guarded(x)).length);
    await change(2, x, canary, [...carols, ...daves]);
    expect(carols.map((c) => dataFrames(c, guarded(x)).length)).toEqual(before);
    for (const c of daves) expect(errorFrames(c, 'FORBIDDEN')).toEqual([]);
    await ask(nodes[1]!, { type: 'revoke', filter: { userId: `carol${t}` } });
    expect((await Promise.all(carols.map((c) => c.closed))).map((c) => c.code)).toEqual([4401, 4401, 4401]);
    for (const c of daves) await barrier(c);
  });
});
