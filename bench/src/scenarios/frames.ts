import { nowMs } from '../clock.js';
import type { Deployment } from '../deployment.js';
import type { Driver } from '../driver-handle.js';
import { allNodes, cpuSpent, type Scenario, type ScenarioContext } from '../scenario.js';
import type { UpdateItem } from '../targets/store.js';

const ID = '1';
/** Updates sent one by one before measuring, so every target runs optimized code. */
const WARMUP = 20;

/** Server CPU over frames received while `send` runs, and until every client holds the last value. */
async function measure(ctx: ScenarioContext, updates: number, send: () => Promise<void>): Promise<Record<string, number>> {
  const { deployment, driver, sizes } = ctx;
  await driver.record(true);
  const before = await deployment.cpu();
  const started = nowMs();
  await send();
  const done = await driver.converge(deployment.expected(), 60_000);
  await driver.quiet();
  const cpu = cpuSpent(before, await deployment.cpu());
  await driver.record(false);
  const r = await driver.report();
  return {
    cpuPerFrame: cpu / r.frames,
    framesPerSec: (r.frames / Math.max(1, r.lastFrameAt - started)) * 1000,
    framesPerUpdate: r.frames / (updates * sizes.frames.clients),
    converged: (100 * done.converged) / done.total,
  };
}

/**
 * One update per turn of the event loop: each waits for the server to answer the write of its
 * row, which it does only after it handled the previous notify (one IPC channel, in order).
 * Every frame then leaves in a write of its own.
 */
async function oneByOne(deployment: Deployment, count: number): Promise<void> {
  const routing = allNodes(deployment.nodes.length);
  for (let i = 0; i < count; i++) await deployment.update('items', [ID], routing);
}

/**
 * `turns` turns of `perTurn` updates: the server applies each update (write, then notify) in a
 * macrotask of its own, all of a turn back to back, so the server is saturated and yet no notify
 * arrives while the previous fetch runs. The next turn starts once every client has the last value.
 */
async function saturated(deployment: Deployment, driver: Driver, turns: number, perTurn: number): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    const set: UpdateItem[] = [];
    const written = nowMs();
    for (let i = 0; i < perTurn; i++) {
      const seq = (deployment.seqs.get(ID) ?? 0) + 1;
      deployment.seqs.set(ID, seq);
      set.push([ID, seq, written]);
    }
    deployment.onSend(
      set.map(([id, seq]) => [id, seq]),
      nowMs(),
    );
    await deployment.nodes[0]!.call({ t: 'spaced', batch: { entity: 'items', set, notify: [] } });
    await driver.converge(deployment.expected(), 60_000);
  }
}

/**
 * What one frame costs the server when updates to one key with many subscribers come faster than
 * one per turn of the event loop, yet spaced so none coalesce (every update reaches every client).
 */
export const frames: Scenario = {
  name: 'frames',
  description: (s) =>
    `${s.frames.clients.toLocaleString('en-US')} clients on one key (shared scope). Saturated: ${s.frames.turns} turns of the ` +
    `event loop with ${s.frames.perTurn} updates each, every update (write, then notify) in a macrotask of its own, so ` +
    'no notify arrives while the previous fetch runs and none coalesce (frames per client per update must be 1.00). ' +
    `Alone: ${s.frames.alone} updates one per turn, every frame in a write of its own. Goal: saturated, at most ` +
    '1.0 µs of server CPU per frame. Single-node targets only.',
  metrics: [
    { key: 'cpuPerFrame', label: 'saturated: server CPU per frame', unit: 'µs', better: 'lower', digits: 2, limit: 1.0 },
    { key: 'framesPerSec', label: 'saturated: frames/s', unit: '/s', better: 'higher', digits: 0 },
    { key: 'framesPerUpdate', label: 'saturated: frames per client per update', unit: '', better: 'higher', noRatio: true, digits: 2 },
    { key: 'aloneCpuPerFrame', label: 'alone: server CPU per frame', unit: 'µs', better: 'lower', digits: 2 },
    { key: 'aloneFramesPerUpdate', label: 'alone: frames per client per update', unit: '', better: 'higher', noRatio: true, digits: 2 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 0 },
  ],
  appliesTo: (target) => target.nodes === 1,
  padBytes: 100,
  timeoutMs: 300_000,
  async run(ctx) {
    const { target, deployment, driver, sizes } = ctx;
    const { clients, perTurn, turns, alone } = sizes.frames;
    await driver.open({ proto: target.impl === 'sio' ? 'sio' : 'es', urls: deployment.urls, entity: 'items', count: clients, ids: [ID] });
    await oneByOne(deployment, WARMUP);
    await driver.converge(deployment.expected(), 30_000);
    await driver.quiet();
    const s = await measure(ctx, turns * perTurn, () => saturated(deployment, driver, turns, perTurn));
    const a = await measure(ctx, alone, () => oneByOne(deployment, alone));
    return {
      ...s,
      aloneCpuPerFrame: a.cpuPerFrame!,
      aloneFramesPerUpdate: a.framesPerUpdate!,
      converged: Math.min(s.converged!, a.converged!),
    };
  },
};
