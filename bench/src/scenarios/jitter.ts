import type { GroupSpec, ResumeSummary } from '../resume-clients.js';
import { allNodes, paced, type Scenario } from '../scenario.js';

const SETTLE_MS = 60_000;

export const jitter: Scenario = {
  name: 'jitter',
  description: (s) =>
    `${s.jitter.clients} clients spread over the nodes, each on one of ${s.jitter.keys} keys; each key changes ` +
    `${s.jitter.perKeyPerSec} times/s for ${s.jitter.ms / 1000} s while every client loses its connection every ` +
    `${s.jitter.upMs / 1000} s (from a random start) for ${s.jitter.downMs / 1000} s, then reconnects to the same node and ` +
    'resumes with `fp`. Fresh: its subscribe is acked and it holds every value sent before it began to reconnect.',
  metrics: [
    { key: 'resumes', label: 'reconnects', unit: '', better: 'higher', noRatio: true, digits: 0 },
    { key: 'freshP50', label: 'reconnect to fresh p50', unit: 'ms', better: 'lower', noRatio: true, digits: 1 },
    { key: 'freshP99', label: 'reconnect to fresh p99', unit: 'ms', better: 'lower', noRatio: true, digits: 1, limit: 1_000 },
    { key: 'p99', label: 'latency p99 of pushes', unit: 'ms', better: 'lower', noRatio: true, digits: 1 },
    { key: 'refused', label: 'upgrades refused (503)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'converged', label: 'final state converged', unit: '%', better: 'higher', noRatio: true, digits: 1, limit: 100 },
  ],
  appliesTo: (t) => t.id === 'es-nats',
  padBytes: 100,
  async run(ctx) {
    const { deployment, driver, sizes } = ctx;
    const s = sizes.jitter;
    const spec: GroupSpec = {
      group: 'jitter',
      count: s.clients,
      urls: deployment.urls,
      entity: 'items',
      keys: { prefix: 'j', perClient: 1, distinct: s.keys },
    };
    const opened = await driver.call<{ notBack: number }>({ t: 'resume.open', spec, timeoutMs: 120_000 }, 180_000);
    if (opened.notBack > 0) throw new Error(`${opened.notBack} of ${s.clients} clients did not connect`);
    const routing = allNodes(deployment.nodes.length);
    const ids = Array.from({ length: s.keys }, (_, i) => `j${i}`);
    await driver.record(true);
    await driver.call({ t: 'resume.startJitter', upMs: s.upMs, downMs: s.downMs });
    let next = 0;
    await paced(s.keys * s.perKeyPerSec, s.ms, (count) => {
      const batch: string[] = [];
      for (let i = 0; i < count; i++) batch.push(ids[next++ % ids.length]!);
      return deployment.update('items', batch, routing);
    });
    const summary = await driver.call<ResumeSummary>({ t: 'resume.stopJitter', timeoutMs: SETTLE_MS }, SETTLE_MS + 30_000);
    const done = await driver.call<{ converged: number; total: number }>(
      { t: 'resume.converge', expected: deployment.expected(), timeoutMs: 30_000 },
      60_000,
    );
    await driver.record(false);
    const latency = await driver.report();
    if (summary.errors.length) ctx.log(summary.errors.join('; '));
    return {
      resumes: summary.resumes,
      freshP50: summary.p50,
      freshP99: summary.p99,
      p99: latency.p99,
      refused: summary.refused,
      converged: (100 * done.converged) / done.total,
    };
  },
};
