import type { Deployment } from './deployment.js';
import type { Driver } from './driver-handle.js';
import type { Sizes } from './sizes.js';
import type { TargetSpec } from './targets/index.js';

/** One figure a scenario produces, as shown in the table. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  /** How the figure compares with the hand-written server's: lower or higher is better. */
  better: 'lower' | 'higher';
  /** The target as a ratio to the hand-written server (e.g. 1.3 means <= 1.3x). */
  goal?: number;
  /** Decimals shown. @default 1 */
  digits?: number;
  /** Custom rendering of one value (e.g. an outcome code). */
  format?: (value: number) => string;
  /** Shown without a ratio (counts, checks). */
  noRatio?: boolean;
  /** The target as an absolute figure (e.g. 2000 ms: p99 <= 2000), listed under "Absolute goals". */
  limit?: number;
}

export interface ScenarioContext {
  target: TargetSpec;
  deployment: Deployment;
  driver: Driver;
  sizes: Sizes;
  log(message: string): void;
}

export interface Scenario {
  name: string;
  /** One line on what it does, for the report. */
  description(sizes: Sizes): string;
  metrics: Metric[];
  /** Whether this scenario runs on `target`. */
  appliesTo(target: TargetSpec): boolean;
  /** Bytes of padding in each value. */
  padBytes: number;
  /** Node processes to start, when not the target's own count (e.g. 3 for `drain`). */
  nodes?: number;
  /** How long a run may take before it counts as failed. @default 180000 */
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<Record<string, number>>;
}

/** Server CPU spent between two `deployment.cpu()` readings, summed over nodes, in microseconds. */
export function cpuSpent(before: number[], after: number[]): number {
  return after.reduce((sum, v, i) => sum + v - (before[i] ?? 0), 0);
}

/**
 * Sends `perSec` updates per second for `durationMs`: on each timer tick, `send(n)` sends the n
 * that are due. Returns how many were sent.
 */
export async function paced(perSec: number, durationMs: number, send: (count: number) => Promise<unknown>): Promise<number> {
  const total = Math.round((perSec * durationMs) / 1000);
  const tick = Math.max(5, Math.min(100, Math.round(1000 / perSec)));
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * perSec) / 1000) + 1);
    if (due > sent) {
      const count = due - sent;
      sent = due;
      await send(count);
    }
    await new Promise((resolve) => setTimeout(resolve, tick));
  }
  return sent;
}

/** Routing when every node serves the key and node 0 notifies. */
export function allNodes(nodes: number): { servedBy(): number[]; notifier(): number } {
  const every = Array.from({ length: nodes }, (_, i) => i);
  return { servedBy: () => every, notifier: () => 0 };
}
