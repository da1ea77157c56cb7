import { readdirSync, readFileSync } from 'node:fs';
import { nowMs, sleep } from '../clock.js';
import type { Deployment } from '../deployment.js';
import { Driver, type OpenOptions } from '../driver-handle.js';
import { cpuSpent, type Metric, type Scenario } from '../scenario.js';

const KB = 1024;
const MB = 1024 * 1024;
/** Connections one driver process holds at most (each is an open file; the limit is per process). */
const PER_DRIVER = 8_000;
/** Connects in flight over all drivers, as in `connect+memory`. */
const CONCURRENCY = 200;
/** Open files left free in the server at the last step (IPC, the listening socket, an accept in flight). */
const SPARE_FILES = 50;

/**
 * Connections the server process can still accept: its open-file limit minus the files it holds
 * now, minus a margin. Undefined where `/proc` is missing (no last step then).
 */
export function openFileRoom(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    if (soft === undefined) return undefined;
    return Number(soft) - readdirSync(`/proc/${pid}/fd`).length - SPARE_FILES;
  } catch {
    return undefined;
  }
}

/** Sizes of the run: the configured steps, then (full runs) as many as the server's open files allow. */
function plan(steps: readonly number[], max: boolean, room: number | undefined): number[] {
  const sizes = [...steps].sort((a, b) => a - b);
  if (max && room !== undefined && room > (sizes.at(-1) ?? 0)) sizes.push(room);
  return sizes;
}

/** Opens `count` more clients, spread evenly over `drivers`, client i on its own key `first + i`. */
async function grow(drivers: Driver[], base: Omit<OpenOptions, 'count' | 'own'>, first: number, count: number): Promise<number> {
  const started = nowMs();
  let next = first;
  await Promise.all(
    drivers.map((driver, i) => {
      const share = Math.floor(count / drivers.length) + (i < count % drivers.length ? 1 : 0);
      const own = { first: next };
      next += share;
      const concurrency = Math.max(1, Math.round(CONCURRENCY / drivers.length));
      return share > 0 ? driver.open({ ...base, count: share, own, concurrency }) : undefined;
    }),
  );
  return nowMs() - started;
}

async function memory(deployment: Deployment): Promise<{ rss: number; heap: number }> {
  const mem = await deployment.mem(true);
  return { rss: mem.reduce((s, m) => s + m.rss, 0), heap: mem.reduce((s, m) => s + m.heap, 0) };
}

/** Columns of one step (`s1`, `s2`, `max`). */
function stepMetrics(prefix: string, name: string): Metric[] {
  return [
    { key: `${prefix}Conns`, label: `${name}: connections`, unit: '', better: 'higher', noRatio: true, digits: 0 },
    { key: `${prefix}Rate`, label: `${name}: connect + acked subscribe per second`, unit: '/s', better: 'higher', digits: 0 },
    { key: `${prefix}Rss`, label: `${name}: RSS`, unit: 'MB', better: 'lower', digits: 1 },
    { key: `${prefix}PerConn`, label: `${name}: RSS per connection`, unit: 'KB', better: 'lower', digits: 2 },
  ];
}

const STEP_NAMES = ['step 1', 'step 2'];

/**
 * Idle connections with one subscription each, grown in steps to as many as one server process
 * can hold (its open-file limit), over several driver processes (each has the same limit) and the
 * source addresses 127.0.0.1 to 127.0.0.8. At each step: the connect rate of that step, and RSS
 * after a full GC (minus the reading before any connection), in total and per connection.
 */
export const capacity: Scenario = {
  name: 'capacity',
  description: (s) =>
    `Idle clients, each subscribed to its own key, opened ${CONCURRENCY} at a time over several driver processes ` +
    `(at most ${PER_DRIVER.toLocaleString('en-US')} each) until one server process holds ` +
    `${s.capacity.steps.map((n) => n.toLocaleString('en-US')).join(', then ')}` +
    `${s.capacity.max ? ', then as many as its open-file limit allows (max)' : ''}. At each step: the connect rate ` +
    'of the clients added in that step, and RSS after a full GC (minus the reading before the first client), in ' +
    'total and per connection; and the server CPU per connection over all steps (less sensitive to a busy machine ' +
    'than the rate). Goal: RSS grows linearly, at most 9 KB per connection. Single-node targets only.',
  metrics: [
    ...stepMetrics('s1', STEP_NAMES[0]!),
    ...stepMetrics('s2', STEP_NAMES[1]!),
    ...stepMetrics('max', 'max'),
    { key: 'marginal', label: 'RSS per added connection, first to last step', unit: 'KB', better: 'lower', digits: 2, limit: 9 },
    { key: 'heapPerConn', label: 'heap per connection, last step', unit: 'KB', better: 'lower', digits: 2 },
    { key: 'cpuPerConn', label: 'server CPU per connection + acked subscribe', unit: 'µs', better: 'lower', digits: 0 },
  ],
  appliesTo: (target) => target.nodes === 1,
  padBytes: 100,
  // 19,924 Socket.IO clients took 130 s on the loaded 2-core machine.
  timeoutMs: 360_000,
  async run({ target, deployment, driver, sizes, log }) {
    const room = openFileRoom(deployment.nodes[0]!.child.pid);
    const steps = plan(sizes.capacity.steps, sizes.capacity.max, room);
    if (sizes.capacity.max && room === undefined) log('no /proc: the max step is skipped');
    if (sizes.capacity.steps.length !== STEP_NAMES.length)
      throw new Error(`capacity: sizes.capacity.steps must hold ${STEP_NAMES.length} sizes`);
    // Always at least two drivers, so the quick run takes the same path as the full one.
    const extra = await Promise.all(Array.from({ length: Math.max(2, Math.ceil(steps.at(-1)! / PER_DRIVER)) - 1 }, () => Driver.start()));
    try {
      const drivers = [driver, ...extra];
      const base = { proto: target.impl === 'sio' ? ('sio' as const) : ('es' as const), urls: deployment.urls, entity: 'items' };
      const empty = await memory(deployment);
      const result: Record<string, number> = {};
      const prefixes = steps.map((_, i) => (sizes.capacity.max && room !== undefined && i === steps.length - 1 ? 'max' : `s${i + 1}`));
      let held = 0;
      let last = empty;
      let first: { n: number; rss: number } | undefined;
      let cpu = 0;
      for (const [i, n] of steps.entries()) {
        const cpuBefore = await deployment.cpu();
        const ms = await grow(drivers, base, held, n - held);
        cpu += cpuSpent(cpuBefore, await deployment.cpu());
        const rate = ((n - held) / ms) * 1000;
        held = n;
        await sleep(500);
        last = await memory(deployment);
        const p = prefixes[i]!;
        result[`${p}Conns`] = n;
        result[`${p}Rate`] = rate;
        result[`${p}Rss`] = last.rss / MB;
        result[`${p}PerConn`] = (last.rss - empty.rss) / n / KB;
        first ??= { n, rss: last.rss };
      }
      result['marginal'] = held > first!.n ? (last.rss - first!.rss) / (held - first!.n) / KB : NaN;
      result['heapPerConn'] = (last.heap - empty.heap) / held / KB;
      result['cpuPerConn'] = cpu / held;
      return result;
    } finally {
      await Promise.all(extra.map((d) => d.stop()));
    }
  },
};
