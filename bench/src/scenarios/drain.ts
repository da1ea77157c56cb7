import type { Routing } from '../deployment.js';
import type { GroupSpec, ResumeSummary } from '../resume-clients.js';
import { paced, type Scenario, type ScenarioContext } from '../scenario.js';

/** The drained clients reconnect within 1 s of their 1012: the window plus this covers the tail. */
const TAIL_MS = 1_500;
const SETTLE_MS = 60_000;

/** Updates on the others' keys for `ms`; returns the others' latency p50 and p99. */
async function others(ctx: ScenarioContext, ids: string[], ms: number): Promise<{ p50: number; p99: number }> {
  const { deployment, driver, sizes } = ctx;
  // Every node holds the rows; node 1 notifies (node 0 is the one drained).
  const routing: Routing = { servedBy: () => [0, 1, 2], notifier: () => 1 };
  await driver.record(true);
  let next = 0;
  await paced(sizes.drain.perSec, ms, (count) => {
    const batch: string[] = [];
    for (let i = 0; i < count; i++) batch.push(ids[next++ % ids.length]!);
    return deployment.update('items', batch, routing);
  });
  await driver.quiet(100, 10_000);
  await driver.record(false);
  const r = await driver.report();
  return { p50: r.p50, p99: r.p99 };
}

export const drain: Scenario = {
  name: 'drain',
  description: (s) =>
    `3 nodes: node 0 holds ${s.drain.clients} clients (one key each, 1,000 keys), nodes 1 and 2 hold ${s.drain.others} others ` +
    `(one of 100 keys each). \`sync.drain({ drainMs: ${s.drain.drainMs} })\` on node 0: each of its clients gets 1012 in turn ` +
    'and reconnects to node 1 or 2 (picked at random) after a random delay of up to 1 s, resuming with `fp`. The others get ' +
    `${s.drain.perSec} updates/s, first for as long without a drain (base), then during it.`,
  metrics: [
    { key: 'peakPerSec', label: "survivors' reconnects, busiest second", unit: '/s', better: 'lower', noRatio: true, digits: 0 },
    { key: 'meanPerSec', label: "survivors' reconnects per second, mean", unit: '/s', better: 'lower', noRatio: true, digits: 0 },
    { key: 'closedPeakPerSec', label: '1012 received, busiest second', unit: '/s', better: 'lower', noRatio: true, digits: 0 },
    { key: 'downP99', label: 'survivor 1012 to fresh p99', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'lastBack', label: 'drain start to last survivor fresh', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'baseP99', label: 'others p99, no drain', unit: 'ms', better: 'lower', noRatio: true, digits: 2 },
    { key: 'p99', label: 'others p99, during the drain', unit: 'ms', better: 'lower', noRatio: true, digits: 2 },
    { key: 'neverBack', label: 'clients never back', unit: '', better: 'lower', noRatio: true, digits: 0, limit: 0 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 1 },
  ],
  appliesTo: (t) => t.id === 'es-nats',
  nodes: 3,
  padBytes: 100,
  timeoutMs: 300_000,
  async run(ctx) {
    const { deployment, driver, sizes } = ctx;
    const s = sizes.drain;
    const [node0, node1, node2] = deployment.urls as [string, string, string];
    const groups: GroupSpec[] = [
      { group: 'others', count: s.others, urls: [node1, node2], entity: 'items', keys: { prefix: 'o', perClient: 1, distinct: 100 } },
      {
        group: 'drained',
        count: s.clients,
        urls: [node0],
        fallback: [node1, node2],
        entity: 'items',
        keys: { prefix: 'd', perClient: 1, distinct: 1_000 },
      },
    ];
    for (const spec of groups) {
      const opened = await driver.call<{ notBack: number }>({ t: 'resume.open', spec, timeoutMs: 120_000 }, 180_000);
      if (opened.notBack > 0) throw new Error(`${opened.notBack} of ${spec.count} ${spec.group} clients did not connect`);
    }
    const ids = Array.from({ length: 100 }, (_, i) => `o${i}`);
    const window = s.drainMs + TAIL_MS;
    const base = await others(ctx, ids, window);
    await driver.call({ t: 'resume.reset' });
    const drained = deployment.nodes[0]!.call({ t: 'drain', ms: s.drainMs }, s.drainMs + SETTLE_MS);
    const during = await others(ctx, ids, window);
    await drained;
    await driver.call({ t: 'resume.settle', timeoutMs: SETTLE_MS }, SETTLE_MS + 30_000);
    const survivors = await driver.call<ResumeSummary>({ t: 'resume.summary', group: 'drained' });
    const done = await driver.call<{ converged: number; total: number }>(
      { t: 'resume.converge', expected: deployment.expected(), timeoutMs: 30_000 },
      60_000,
    );
    if (survivors.errors.length) ctx.log(survivors.errors.join('; '));
    return {
      peakPerSec: survivors.peakPerSec,
      meanPerSec: survivors.meanPerSec,
      closedPeakPerSec: survivors.downPeakPerSec,
      downP99: survivors.downP99,
      lastBack: survivors.lastFreshMs,
      baseP99: base.p99,
      p99: during.p99,
      neverBack: survivors.notBack,
      converged: (100 * done.converged) / done.total,
    };
  },
};
