import type { Routing } from '../deployment.js';
import { cpuSpent, paced, type Scenario } from '../scenario.js';

/** Node that notifies a change of `id`: spread by a hash, so about half of them cross the bus. */
function notifierOf(id: string, seq: number, nodes: number): number {
  return (Math.imul(Number(id) + seq, 2654435761) >>> 16) % nodes;
}

export const keys: Scenario = {
  name: 'keys',
  description: (s) =>
    `${s.keys.clients} clients, each on its own key, spread over the nodes; ${s.keys.perSec} notifies/s for ` +
    `${s.keys.ms / 1000} s, each from a node picked by a hash (about half cross the bus).`,
  metrics: [
    { key: 'p50', label: 'latency p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'p99', label: 'latency p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'cpu', label: 'server CPU per delivery', unit: 'µs', better: 'lower', goal: 1.3, digits: 1 },
    { key: 'cpuMaxNode', label: 'server CPU per delivery, busiest node', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'unserved', label: 'bus messages for keys a node does not serve', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 0 },
  ],
  appliesTo: () => true,
  padBytes: 100,
  async run(ctx) {
    const { deployment, driver, sizes } = ctx;
    const nodes = deployment.nodes.length;
    const n = sizes.keys.clients;
    await driver.open({
      proto: ctx.target.impl === 'sio' ? 'sio' : 'es',
      urls: deployment.urls,
      entity: 'items',
      count: n,
      own: { first: 0 },
    });
    const routing: Routing = { servedBy: (id) => [Number(id) % nodes], notifier: (id, seq) => notifierOf(id, seq, nodes) };
    const crossing = new Array<number>(nodes).fill(0);
    const statsBefore = await deployment.stats();
    await driver.record(true);
    const before = await deployment.cpu();
    let next = 0;
    await paced(sizes.keys.perSec, sizes.keys.ms, async (count) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(String(next++ % n));
      await deployment.update('items', ids, routing);
      for (const id of ids) {
        const served = Number(id) % nodes;
        if (notifierOf(id, deployment.seqs.get(id)!, nodes) !== served) crossing[served]!++;
      }
    });
    const done = await driver.converge(deployment.expected(), 10_000);
    if (done.stragglers.length) ctx.log(`not converged: ${done.stragglers.join('; ')}`);
    if (process.env['BENCH_PROBE'] === '1') {
      for (const s of done.stragglers) {
        const id = s.split(':')[0]!;
        const seqs = await deployment.nodes[Number(id) % nodes]!.call({ t: 'probe', id });
        ctx.log(`serving node ${Number(id) % nodes} fetched ${id}: ${JSON.stringify(seqs)}`);
      }
    }
    await driver.quiet(50);
    const after = await deployment.cpu();
    await driver.record(false);
    const r = await driver.report();
    const statsAfter = await deployment.stats();
    const perNode = after.map((v, i) => (v - before[i]!) / (r.frames / nodes));
    return {
      p50: r.p50,
      p99: r.p99,
      cpu: cpuSpent(before, after) / r.frames,
      cpuMaxNode: Math.max(...perNode),
      unserved: unservedMessages(ctx.target.impl, statsBefore, statsAfter, crossing),
      converged: (100 * done.converged) / done.total,
    };
  },
};

/**
 * entity-sync counts every bus message but its own echoes; a node should get exactly the ones
 * for its keys published by another node. The hand-written server counts unserved ones itself.
 */
function unservedMessages(
  impl: string,
  before: Array<Record<string, number>>,
  after: Array<Record<string, number>>,
  crossing: number[],
): number {
  if (impl === 'sio') return NaN;
  if (impl === 'ws') return after.reduce((sum, s, i) => sum + (s['busUnserved'] ?? 0) - (before[i]!['busUnserved'] ?? 0), 0);
  if (after.length === 1) return 0;
  return after.reduce((sum, s, i) => sum + Math.abs((s['busReceived'] ?? 0) - (before[i]!['busReceived'] ?? 0) - crossing[i]!), 0);
}
