import { sleep } from '../clock.js';
import type { GroupSpec, ResumeSummary } from '../resume-clients.js';
import { cpuSpent, type Scenario, type ScenarioContext } from '../scenario.js';

/** Longer than the node's value cache (`resumeCacheMs`, 2 s by default): each storm starts with it cold. */
const CACHE_COLD_MS = 2_500;
const STORM_TIMEOUT_MS = 60_000;

/** Distinct (node, key) pairs: client i is on node i % nodes and holds keys (i * perClient + j) % distinct. */
function distinctPairs(nodes: number, s: ScenarioContext['sizes']['storm']): number {
  const pairs = new Set<number>();
  for (let i = 0; i < s.clients; i++) {
    for (let j = 0; j < s.keysPerClient; j++) pairs.add((i % nodes) * s.distinctKeys + ((i * s.keysPerClient + j) % s.distinctKeys));
  }
  return pairs.size;
}

/** One storm: every client drops and reconnects within the spread; fetch calls counted on the nodes. */
async function storm(ctx: ScenarioContext, fp: boolean): Promise<ResumeSummary & { fetches: number; cpu: number }> {
  const { deployment, driver, sizes } = ctx;
  await sleep(CACHE_COLD_MS);
  const before = await deployment.stats();
  const cpuBefore = await deployment.cpu();
  const summary = await driver.call<ResumeSummary>(
    { t: 'resume.storm', fp, spreadMs: sizes.storm.spreadMs, timeoutMs: STORM_TIMEOUT_MS },
    STORM_TIMEOUT_MS + 30_000,
  );
  const cpu = cpuSpent(cpuBefore, await deployment.cpu());
  const after = await deployment.stats();
  const fetches = after.reduce((sum, s, i) => sum + (s['fetch.items'] ?? 0) - (before[i]!['fetch.items'] ?? 0), 0);
  if (summary.errors.length) ctx.log(`${fp ? 'with' : 'without'} fp: ${summary.errors.join('; ')}`);
  return { ...summary, fetches, cpu };
}

export const stormScenario: Scenario = {
  name: 'storm',
  description: (s) =>
    `${s.storm.clients} clients with ${s.storm.keysPerClient} keys each over ${s.storm.distinctKeys} distinct keys, spread over ` +
    `the nodes; every connection drops at once and each client reconnects within ${s.storm.spreadMs / 1000} s and subscribes ` +
    'again, once with the fingerprint of each value it holds (`fp`, as the client library does) and once without (the ' +
    'baseline, a full resend). Nothing changes in between. Admission control at its defaults (1,000 upgrades/s, burst 2,000 per ' +
    'node): a refused client comes back after `Retry-After` plus up to 1 s.',
  metrics: [
    { key: 'fetches', label: 'fetches, with fp', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'distinct', label: 'distinct (key, node)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'fetchRatio', label: 'fetches per distinct (key, node)', unit: '', better: 'lower', noRatio: true, digits: 2, limit: 1 },
    { key: 'fetchesBase', label: 'fetches, without fp', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'freshP50', label: 'reconnect to fresh p50, with fp', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'freshP99', label: 'reconnect to fresh p99, with fp', unit: 'ms', better: 'lower', noRatio: true, digits: 0, limit: 2_000 },
    { key: 'connectP99', label: 'reconnect to socket open p99, with fp', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'freshP99Base', label: 'reconnect to fresh p99, without fp', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'allFresh', label: 'drop to last client fresh, with fp', unit: 'ms', better: 'lower', noRatio: true, digits: 0 },
    { key: 'framesFp', label: 'data frames, with fp (values unchanged: 0)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'bytes', label: 'bytes per client, with fp', unit: 'B', better: 'lower', noRatio: true, digits: 0 },
    { key: 'bytesBase', label: 'bytes per client, without fp', unit: 'B', better: 'lower', noRatio: true, digits: 0 },
    { key: 'bytesRatio', label: 'bytes with fp / full resend', unit: '%', better: 'lower', noRatio: true, digits: 1, limit: 5 },
    { key: 'cpu', label: 'server CPU per reconnect, with fp', unit: 'µs', better: 'lower', noRatio: true, digits: 0 },
    { key: 'cpuBase', label: 'server CPU per reconnect, without fp', unit: 'µs', better: 'lower', noRatio: true, digits: 0 },
    { key: 'driverCpu', label: 'driver CPU per reconnect, with fp', unit: 'µs', better: 'lower', noRatio: true, digits: 0 },
    { key: 'refused', label: 'upgrades refused (503), with fp', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'stuck', label: 'clients stuck (both storms)', unit: '', better: 'lower', noRatio: true, digits: 0, limit: 0 },
  ],
  appliesTo: (t) => t.id === 'es-nats',
  padBytes: 100,
  // Two storms of 10,000 clients and their connects: 140 s on the loaded 2-core machine.
  timeoutMs: 360_000,
  async run(ctx) {
    const { deployment, driver, sizes } = ctx;
    const s = sizes.storm;
    const spec: GroupSpec = {
      group: 'storm',
      count: s.clients,
      urls: deployment.urls,
      entity: 'items',
      keys: { prefix: 'k', perClient: s.keysPerClient, distinct: s.distinctKeys },
    };
    const opened = await driver.call<{ ms: number; notBack: number }>({ t: 'resume.open', spec, timeoutMs: 120_000 }, 180_000);
    if (opened.notBack > 0) throw new Error(`${opened.notBack} of ${s.clients} clients did not connect`);
    const base = await storm(ctx, false);
    const withFp = await storm(ctx, true);
    const distinct = distinctPairs(deployment.nodes.length, s);
    return {
      fetches: withFp.fetches,
      distinct,
      fetchRatio: withFp.fetches / distinct,
      fetchesBase: base.fetches,
      freshP50: withFp.p50,
      freshP99: withFp.p99,
      connectP99: withFp.connectP99,
      freshP99Base: base.p99,
      allFresh: withFp.lastFreshMs,
      framesFp: withFp.dataFrames,
      bytes: withFp.bytes / s.clients,
      bytesBase: base.bytes / s.clients,
      bytesRatio: (100 * withFp.bytes) / base.bytes,
      cpu: withFp.cpu / s.clients,
      cpuBase: base.cpu / s.clients,
      driverCpu: (withFp.driverCpuMs * 1000) / s.clients,
      refused: withFp.refused,
      stuck: withFp.notBack + base.notBack,
    };
  },
};
