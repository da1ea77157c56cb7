import { cpus, loadavg } from 'node:os';
import { createClient } from '@entity-sync/client';
import { WebSocket } from 'ws';
import { nowMs, sleep } from '../clock.js';
import { paced } from '../scenario.js';
import { Samples } from '../stats.js';
import { ChangesRig, ROWS } from './setup.js';

/** Sizes of the `changes` bench. */
export interface ChangesSizes {
  /** Row changes committed while no follower runs, then streamed (throughput). */
  backlog: number;
  /** Rows per transaction in the throughput runs. */
  rowsPerTx: number[];
  /** Commit-to-client latency: writes per second and for how long. */
  perSec: number;
  ms: number;
}

export const CHANGES_FULL: ChangesSizes = { backlog: 50_000, rowsPerTx: [1, 100], perSec: 1_000, ms: 10_000 };
export const CHANGES_QUICK: ChangesSizes = { backlog: 5_000, rowsPerTx: [1, 100], perSec: 1_000, ms: 2_000 };

/**
 * Throughput: `backlog` row changes are committed (in transactions of `rowsPerTx` rows) while
 * no follower runs; then a follower starts, and the clock runs until the slot's acknowledged
 * position passed them (each is acknowledged only after the bus accepted its keys).
 */
async function throughput(rig: ChangesRig, backlog: number, rowsPerTx: number): Promise<number> {
  await rig.command('start'); // creates the slot, so the backlog is kept for the next follower
  await rig.command('close');
  const txs = Math.ceil(backlog / rowsPerTx);
  await rig.pool.query(`DO $$ BEGIN
    FOR tx IN 0..${txs - 1} LOOP
      UPDATE items SET v = v + 1 WHERE id >= (tx * ${rowsPerTx}) % ${ROWS} AND id < (tx * ${rowsPerTx}) % ${ROWS} + ${rowsPerTx};
      COMMIT;
    END LOOP;
  END $$`);
  const { rows } = await rig.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const started = performance.now();
  await rig.command('start');
  // Done when the slot's acknowledged position passed the backlog: every change was notified.
  const behind = `SELECT pg_wal_lsn_diff($1, confirmed_flush_lsn) > 0 AS behind FROM pg_replication_slots WHERE slot_name = 'changes'`;
  while ((await rig.pool.query<{ behind: boolean }>(behind, [rows[0]?.lsn])).rows[0]?.behind) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  await rig.command('close');
  return (txs * rowsPerTx) / seconds;
}

/**
 * Latency: a client subscribed to every row; after a second of warm-up, `perSec` single-row
 * UPDATEs per second for `ms`, each
 * stamped with its commit time (when the writer's query resolved); latency is the time from
 * there to the client receiving that version.
 */
async function latency(rig: ChangesRig, perSec: number, ms: number): Promise<{ p50: number; p99: number; count: number }> {
  await rig.command('start');
  const client = createClient({ url: rig.wsUrl, WebSocket: WebSocket as never });
  const received = new Map<string, number>();
  let subscribed = 0;
  for (let id = 0; id < ROWS; id++) {
    client.subscribe({ entity: 'items', id: String(id) }, (row, meta) => {
      if (meta.snapshot) subscribed++;
      const { v } = row as { v: number };
      if (!meta.snapshot) received.set(`${id}/${v}`, nowMs());
    });
  }
  while (subscribed < ROWS) await sleep(10);
  let committed = new Map<string, number>();
  let next = 0;
  const write = async (count: number): Promise<void> => {
    const writes = Array.from({ length: count }, async () => {
      const id = (next++ * 7919) % ROWS;
      const { rows } = await rig.pool.query<{ v: number }>('UPDATE items SET v = v + 1 WHERE id = $1 RETURNING v', [id]);
      committed.set(`${id}/${rows[0]?.v}`, nowMs());
    });
    await Promise.all(writes);
  };
  await paced(perSec, 1_000, write); // warm-up (JIT, pools), not measured
  await sleep(200);
  committed = new Map();
  await paced(perSec, ms, write);
  await sleep(500);
  const samples = new Samples();
  for (const [version, at] of committed) {
    const got = received.get(version);
    if (got !== undefined) samples.add(Math.max(0, got - at));
  }
  await client.close();
  await rig.command('close');
  return samples.summary();
}

/** Runs the bench and returns its figures (changes/s per transaction size, latency p50/p99 in ms). */
export async function runChanges(sizes: ChangesSizes, log: (line: string) => void): Promise<Record<string, number>> {
  const rig = await ChangesRig.start();
  const figures: Record<string, number> = {};
  log(`changes: load average before the run ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`);
  try {
    const lat = await latency(rig, sizes.perSec, sizes.ms);
    Object.assign(figures, { latencyP50: lat.p50, latencyP99: lat.p99, latencySamples: lat.count });
    log(
      `changes: commit-to-client at ${sizes.perSec}/s: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.count} samples)`,
    );
    for (const rowsPerTx of sizes.rowsPerTx) {
      figures[`changesPerSec_tx${rowsPerTx}`] = await throughput(rig, sizes.backlog, rowsPerTx);
      log(
        `changes: ${sizes.backlog} row changes in transactions of ${rowsPerTx}: ${figures[`changesPerSec_tx${rowsPerTx}`]?.toFixed(0)} changes/s`,
      );
    }
  } finally {
    await rig.stop();
  }
  return figures;
}
