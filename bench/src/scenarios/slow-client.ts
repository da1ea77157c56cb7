import { sleep } from '../clock.js';
import type { ScenarioContext } from '../scenario.js';
import { allNodes, paced, type Scenario } from '../scenario.js';

const MB = 1024 * 1024;

/** Sends the scenario's updates round-robin over the keys; returns the others' p99 and peak RSS. */
async function phase(ctx: ScenarioContext, ids: string[], except: number[], updates: number): Promise<{ p99: number; rssGrowth: number }> {
  const { deployment, driver, sizes } = ctx;
  const routing = allNodes(deployment.nodes.length);
  const start = await deployment.mem(false);
  await driver.record(true);
  let next = 0;
  const ms = (updates / sizes.slow.perSec) * 1000;
  await paced(sizes.slow.perSec, ms, (count) => {
    const batch: string[] = [];
    for (let i = 0; i < count; i++) batch.push(ids[next++ % ids.length]!);
    return deployment.update('items', batch, routing);
  });
  await driver.converge(deployment.expected(), 30_000, except);
  await driver.quiet();
  await driver.record(false);
  const end = await deployment.mem(false);
  const r = await driver.report();
  const growth = end.reduce((sum, m, i) => sum + m.peakRss - start[i]!.rss, 0);
  return { p99: r.p99, rssGrowth: growth / MB };
}

/** 1: the slow client ends with the latest value of every key; 2: closed with 4008; 0: neither. */
function outcome(
  state: { last: Record<string, number>; closeCode: number | null; open: boolean },
  expected: Record<string, number>,
  ids: string[],
): number {
  if (!state.open) return state.closeCode === 4008 ? 2 : 0;
  return ids.every((id) => (state.last[id] ?? -1) >= (expected[id] ?? 0)) ? 1 : 0;
}

const OUTCOMES = ['stale or wrong close', 'latest values', 'closed 4008'];

export const slowClient: Scenario = {
  name: 'slow-client',
  description: (s) =>
    `${s.slow.others} clients and one slow client on the same ${s.slow.keys} keys (2 KB values); ${s.slow.updates} ` +
    `updates at ${s.slow.perSec}/s, once with every client reading, once with the slow client's socket paused ` +
    '(after a warm-up of a tenth as many).',
  metrics: [
    { key: 'baseP99', label: 'others p99, all reading', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'slowP99', label: 'others p99, one client paused', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'p99Change', label: 'others p99 change (goal < 20%)', unit: '%', better: 'lower', noRatio: true, digits: 0 },
    { key: 'rssGrowth', label: 'server peak RSS growth while paused', unit: 'MB', better: 'lower', digits: 1 },
    { key: 'outcome', label: 'slow client after resume', unit: '', better: 'higher', noRatio: true, format: (v) => OUTCOMES[v] ?? '?' },
  ],
  appliesTo: (t) => t.nodes === 1,
  padBytes: 2048,
  async run(ctx) {
    const { deployment, driver, sizes, target } = ctx;
    const ids = Array.from({ length: sizes.slow.keys }, (_, i) => `s${i}`);
    const proto = target.impl === 'sio' ? 'sio' : 'es';
    await driver.open({ proto, urls: deployment.urls, entity: 'items', count: sizes.slow.others, ids });
    await driver.open({ proto, urls: deployment.urls, entity: 'items', count: 1, ids });
    const slow = sizes.slow.others;
    await phase(ctx, ids, [], sizes.slow.updates / 10); // warm-up
    const base = await phase(ctx, ids, [], sizes.slow.updates);
    await driver.pause(slow);
    const paused = await phase(ctx, ids, [slow], sizes.slow.updates);
    await driver.resume(slow);
    await driver.converge(deployment.expected(), 30_000);
    await sleep(100);
    const state = await driver.client(slow);
    return {
      baseP99: base.p99,
      slowP99: paused.p99,
      p99Change: (100 * (paused.p99 - base.p99)) / base.p99,
      rssGrowth: paused.rssGrowth,
      outcome: outcome(state, deployment.expected(), ids),
    };
  },
};
