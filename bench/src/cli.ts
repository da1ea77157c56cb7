/**
 * `pnpm bench [--quick] [--runs N] [--scenarios a,b] [--targets x,y]`: runs the suite, prints the
 * table, and (full runs only) writes docs/benchmarks.md and docs/benchmarks.svg.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Deployment } from './deployment.js';
import { Driver } from './driver-handle.js';
import { DRIVER_CPU, killAll, pin } from './procs.js';
import { renderReport } from './report.js';
import { Results } from './results.js';
import type { Scenario } from './scenario.js';
import { fanout } from './scenarios/fanout.js';
import { fetchCalls, viewFetches } from './scenarios/fetch.js';
import { keys } from './scenarios/keys.js';
import { memory } from './scenarios/memory.js';
import { slowClient } from './scenarios/slow-client.js';
import { stormScenario } from './scenarios/storm.js';
import { jitter } from './scenarios/jitter.js';
import { drain } from './scenarios/drain.js';
import { FULL, QUICK, type Sizes } from './sizes.js';
import { TARGETS, type TargetSpec } from './targets/index.js';
import { writeDocs } from './docs.js';
import { CHANGES_FULL, CHANGES_QUICK, runChanges } from './changes/run.js';
import { DELTA_FULL, DELTA_QUICK, runDelta } from './scenarios/delta.js';
// The library's own cost (issue 8): frames and capacity.
import { frames } from './scenarios/frames.js';
import { capacity } from './scenarios/capacity.js';

const SCENARIOS: Scenario[] = [fanout, keys, memory, fetchCalls, viewFetches, slowClient];
// Reconnect storms, deploys (issue 11): the reconnecting clients of src/resume-clients.ts.
SCENARIOS.push(stormScenario, jitter, drain);
SCENARIOS.push(frames, capacity);
const SCENARIO_TIMEOUT_MS = 180_000;

function options(): { sizes: Sizes; quick: boolean; scenarios: Scenario[]; targets: TargetSpec[]; argv: string[] } {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, runs: { type: 'string' }, scenarios: { type: 'string' }, targets: { type: 'string' } },
  });
  const quick = values.quick ?? false;
  const sizes = { ...(quick ? QUICK : FULL) };
  if (values.runs) sizes.runs = Number(values.runs);
  const pick = <T extends { name?: string; id?: string }>(all: T[], list: string | undefined): T[] =>
    list ? all.filter((x) => list.split(',').includes((x.name ?? x.id)!)) : all;
  return { sizes, quick, scenarios: pick(SCENARIOS, values.scenarios), targets: pick([...TARGETS], values.targets), argv };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function brief(figures: Record<string, number>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(' ');
}

async function runOne(driver: Driver, scenario: Scenario, target: TargetSpec, sizes: Sizes): Promise<Record<string, number> | string> {
  let deployment: Deployment | undefined;
  try {
    deployment = await Deployment.start(scenario.nodes ? { ...target, nodes: scenario.nodes } : target, scenario.padBytes);
    deployment.onSend = (items, ts) => driver.sent(items, ts);
    const ctx = { target, deployment, driver, sizes, log: (m: string) => console.log(`    ${m}`) };
    return await withTimeout(scenario.run(ctx), scenario.timeoutMs ?? SCENARIO_TIMEOUT_MS, `${scenario.name} on ${target.id}`);
  } catch (error) {
    return (error as Error).message ?? String(error);
  } finally {
    // Servers close first, so TIME_WAIT lands on their (fresh) ports, not on the driver's.
    await deployment?.stop().catch(() => undefined);
    await driver.closeAll().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { sizes, quick, scenarios, targets, argv } = options();
  pin(process.pid, DRIVER_CPU);
  const started = Date.now();
  const results = new Results();
  const driver = await Driver.start();
  try {
    for (let run = 1; run <= sizes.runs; run++) {
      for (const scenario of scenarios) {
        for (const target of targets.filter((t) => scenario.appliesTo(t))) {
          const t0 = Date.now();
          const result = await runOne(driver, scenario, target, sizes);
          results.add(scenario.name, target.id, result);
          const secs = ((Date.now() - t0) / 1000).toFixed(1);
          console.log(
            `[run ${run}/${sizes.runs}] ${scenario.name} ${target.id} (${secs} s): ${typeof result === 'string' ? `FAILED ${result.split('\n')[0]}` : brief(result)}`,
          );
        }
      }
    }
    // The change-source bench (its own Postgres and node; see src/changes/): --scenarios changes.
    if (!argv.some((a) => a.startsWith('--scenarios')) || argv.join(' ').includes('changes')) {
      await runChanges(quick ? CHANGES_QUICK : CHANGES_FULL, (line) => console.log(line));
    }
    // Delta frames against whole values (one node in this process, see scenarios/delta.ts): --scenarios delta.
    if (!argv.some((a) => a.startsWith('--scenarios')) || argv.join(' ').includes('delta')) {
      await runDelta(quick ? DELTA_QUICK : DELTA_FULL, (line) => console.log(line));
    }
  } finally {
    await driver.stop();
  }
  const elapsed = (Date.now() - started) / 1000;
  const report = renderReport(results, scenarios, sizes);
  console.log(`\n${report}\n\nsuite took ${elapsed.toFixed(0)} s`);
  const dump = join(tmpdir(), `entity-sync-bench-${Date.now()}.json`);
  writeFileSync(dump, JSON.stringify(results, null, 1));
  console.log(`raw figures: ${dump}`);
  if (!quick) writeDocs({ results, scenarios, sizes, report, elapsed, argv });
  const broken = results.failures().filter((f) => !/not found/.test(f));
  if (broken.length > 0) throw new Error(`${broken.length} scenario run(s) failed; first: ${broken[0]}`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    killAll();
    process.exit(1);
  },
);
