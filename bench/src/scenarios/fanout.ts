import { allNodes, cpuSpent, paced, type Scenario, type ScenarioContext } from '../scenario.js';

const ID = '1';

async function burst(ctx: ScenarioContext): Promise<Record<string, number>> {
  const { deployment, driver, sizes } = ctx;
  const routing = allNodes(deployment.nodes.length);
  await driver.record(true);
  const before = await deployment.cpu();
  const sentAt = await deployment.update('items', Array<string>(sizes.fanout.burst).fill(ID), routing);
  const done = await driver.converge(deployment.expected(), 60_000);
  await driver.quiet();
  const cpu = cpuSpent(before, await deployment.cpu());
  await driver.record(false);
  const r = await driver.report();
  return {
    burstPerSec: (r.frames / Math.max(0.001, r.lastFrameAt - sentAt)) * 1000,
    burstCpu: cpu / r.frames,
    burstCpuPerUpdate: cpu / (sizes.fanout.burst * sizes.fanout.clients),
    burstFramesPerClient: r.frames / sizes.fanout.clients,
    burstP99: r.p99,
    burstConverged: (100 * done.converged) / done.total,
  };
}

async function steady(ctx: ScenarioContext): Promise<Record<string, number>> {
  const { deployment, driver, sizes } = ctx;
  const routing = allNodes(deployment.nodes.length);
  const { steadyPerSec, steadyMs, clients } = sizes.fanout;
  await driver.record(true);
  const before = await deployment.cpu();
  const sent = await paced(steadyPerSec, steadyMs, (n) => deployment.update('items', Array<string>(n).fill(ID), routing));
  const done = await driver.converge(deployment.expected(), 30_000);
  await driver.quiet();
  const cpu = cpuSpent(before, await deployment.cpu());
  await driver.record(false);
  const r = await driver.report();
  return {
    steadyP50: r.p50,
    steadyP99: r.p99,
    steadyCpu: cpu / r.frames,
    lost: Math.max(0, sent * clients - r.frames),
    reordered: r.reordered,
    converged: (100 * done.converged) / done.total,
  };
}

export const fanout: Scenario = {
  name: 'fanout',
  description: (s) =>
    `${s.fanout.clients} clients on one key (shared scope); a burst of ${s.fanout.burst} updates in one tick, ` +
    `then ${s.fanout.steadyPerSec} updates/s for ${s.fanout.steadyMs / 1000} s. Updates are notified on node 0.`,
  metrics: [
    { key: 'burstCpu', label: 'burst: server CPU per delivery', unit: 'µs', better: 'lower', goal: 1.3, digits: 2 },
    { key: 'burstCpuPerUpdate', label: 'burst: server CPU per client per update', unit: 'µs', better: 'lower', digits: 2 },
    { key: 'burstPerSec', label: 'burst: deliveries/s', unit: '/s', better: 'higher', digits: 0 },
    { key: 'burstFramesPerClient', label: 'burst: frames per client', unit: '', better: 'lower', noRatio: true },
    { key: 'burstP99', label: 'burst: latency p99', unit: 'ms', better: 'lower' },
    { key: 'steadyP50', label: 'steady: latency p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'steadyP99', label: 'steady: latency p99', unit: 'ms', better: 'lower', goal: 1.3, digits: 2 },
    { key: 'steadyCpu', label: 'steady: server CPU per delivery', unit: 'µs', better: 'lower', digits: 2 },
    { key: 'lost', label: 'steady: lost deliveries', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'reordered', label: 'steady: reordered frames', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 0 },
  ],
  appliesTo: () => true,
  padBytes: 100,
  async run(ctx) {
    const { deployment, driver, sizes } = ctx;
    await driver.open({
      proto: ctx.target.impl === 'sio' ? 'sio' : 'es',
      urls: deployment.urls,
      entity: 'items',
      count: sizes.fanout.clients,
      ids: [ID],
    });
    await deployment.update('items', [ID], allNodes(deployment.nodes.length)); // warm-up
    await driver.converge(deployment.expected(), 30_000);
    const b = await burst(ctx);
    const s = await steady(ctx);
    return { ...b, ...s, converged: Math.min(b.burstConverged!, s.converged!) };
  },
};
