import { type NatsServer, type RedisServer, startNats, startRedis } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRun, type RunSize } from './cluster/cluster-run.js';
import type { NodeConfig } from './cluster/protocol.js';
import { faultFor, SteadyLoad } from './cluster/steady-load.js';

const SIZE: RunSize = { nodes: 3, clients: 90, keys: 40, keysPerClient: 6, writes: 0 };

const setups: [string, NodeConfig['broker'], () => Promise<NatsServer | RedisServer>][] = [
  ['NATS', 'nats', () => startNats()],
  ['Redis', 'redis', () => startRedis()],
];

describe.each(setups)('faults with 3 node processes over %s', (_, broker, startServer) => {
  let server: NatsServer | RedisServer;
  let run: ClusterRun;
  beforeAll(async () => {
    server = await startServer();
    run = await ClusterRun.start(broker, () => [server.url], SIZE);
    await run.connectClients();
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    await server?.stop();
  });

  async function expectConverged(since: number): Promise<number> {
    await expect.poll(() => run.staleCount(), { timeout: 5_000, interval: 20 }).toBe(0);
    expect(run.clients.every((c) => c.open)).toBe(true);
    expect(run.nodes.every((n) => n.child.exitCode === null)).toBe(true);
    expect(run.clients.reduce((n, c) => n + c.reordered, 0)).toBe(0);
    return Date.now() - since;
  }

  it('broker stopped for 3 s under a steady notify load, then restarted', async (ctx) => {
    const load = new SteadyLoad(run);
    await server.stop();
    await faultFor(3_000);
    await server.start();
    const restartedAt = Date.now();
    await load.stop();
    const ms = await expectConverged(restartedAt);
    ctx.annotate(`${load.writes} writes, ${load.failures} notifies rejected; converged ${ms} ms after restart`);
  }, 60_000);

  it('broker paused (SIGSTOP) for 3 s under load, then resumed', async (ctx) => {
    const load = new SteadyLoad(run);
    server.pause();
    await faultFor(3_000);
    server.resume();
    const resumedAt = Date.now();
    await load.stop();
    const ms = await expectConverged(resumedAt);
    ctx.annotate(`${load.writes} writes, ${load.failures} notifies rejected; converged ${ms} ms after resume`);
  }, 60_000);

  it("notify while the node's broker is down: local subscribers at once, others after recovery", async (ctx) => {
    const [local, remote] = [run.clients[0]!, run.clients[1]!]; // on nodes[0] and nodes[1]
    const id = `down-${broker}`;
    await Promise.all([local.subscribe([id]), remote.subscribe([id])]);
    await server.stop();
    run.store.write(id);
    const notified = run.nodes[0]!.notify([id]).catch(() => undefined);
    await expect.poll(() => local.latest.get(id), { timeout: 2_000, interval: 5 }).toBe(1);
    expect(remote.latest.get(id)).toBe(0);
    await server.start();
    const restartedAt = Date.now();
    await expect.poll(() => remote.latest.get(id), { timeout: 5_000, interval: 10 }).toBe(1);
    await notified;
    ctx.annotate(`remote subscriber converged ${Date.now() - restartedAt} ms after restart`);
  }, 60_000);
});
