/**
 * `delta`: bytes and server CPU per update for 1 KB, 10 KB and 100 KB entities with one field
 * changed, sent as `delta` frames (option `deltas`) against whole `data` frames. One node in this
 * process; its sockets encode each frame to UTF-8 bytes as `ws` does before writing (no network:
 * the syscalls a real socket adds grow with the bytes, so this understates what deltas save).
 * Each update changes one field of every key, notifies them all, and waits for every frame.
 * Runs with `pnpm bench` (after the suite), or alone: `node --conditions=@entity-sync/source
 * --import tsx bench/src/scenarios/delta.ts [--quick]`.
 */
import { applyDelta, type DeltaOp, valueFingerprint } from '@entity-sync/protocol';
import { createEntitySync, type SocketLike } from '@entity-sync/core';
import { spread } from '../stats.js';

/** Sizes of the `delta` bench. */
export interface DeltaSizes {
  /** Keys, each changed once per round. */
  keys: number;
  /** Subscribers of each key (one fetch group: scope `shared`). */
  subscribers: number[];
  rounds: number;
  runs: number;
}

export const DELTA_FULL: DeltaSizes = { keys: 50, subscribers: [1, 10], rounds: 10, runs: 3 };
export const DELTA_QUICK: DeltaSizes = { keys: 20, subscribers: [1], rounds: 5, runs: 1 };

/** Entity sizes measured (characters of JSON). */
const ENTITY_BYTES = [1_000, 10_000, 100_000];

type Mode = 'full' | 'delta';

/** A document of about `bytes` of JSON, rows of text; the one field that changes is in its middle row. */
function documentOf(bytes: number): (version: string) => Record<string, unknown> {
  const rows = Array.from({ length: Math.max(1, Math.round(bytes / 52)) }, (_, n) => ({ n, text: `row ${n} of the document body` }));
  const middle = rows.length >> 1;
  return (version) => ({ id: 'doc', updatedBy: 'bench', rows: rows.map((row, n) => (n === middle ? { ...row, text: version } : row)) });
}

/** A socket that encodes each frame as `ws` would and counts it; a checker also applies deltas. */
class CountingSocket implements SocketLike {
  frames = 0;
  held: unknown;
  constructor(private readonly checking: boolean) {}
  send(data: string | Uint8Array): void {
    Buffer.from(data as string);
    this.frames++;
    if (!this.checking) return;
    const frame = JSON.parse(data as string) as { type: string; data?: unknown; ops?: DeltaOp[]; fp?: number };
    if (frame.type === 'data') this.held = frame.data;
    if (frame.type !== 'delta') return;
    this.held = applyDelta(this.held, frame.ops!);
    if (valueFingerprint(this.held) !== frame.fp) throw new Error('bench: a delta did not give the fingerprinted value');
  }
  close(): void {}
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One run: bytes and CPU µs per delivered update, and how many of them went as deltas. */
async function measure(mode: Mode, bytes: number, subscribers: number, sizes: DeltaSizes) {
  const sync = createEntitySync({ deltas: mode === 'delta' ? { minBytes: 1, maxRatio: 0.5 } : false, rateLimit: false });
  const make = documentOf(bytes);
  let round = 0;
  sync.registerEntity('docs', { scope: 'shared', fetch: () => make(`version ${round}`) });
  const sockets: CountingSocket[] = [];
  for (let k = 0; k < sizes.keys; k++) {
    for (let s = 0; s < subscribers; s++) {
      const socket = new CountingSocket(k === 0 && s === 0);
      sockets.push(socket);
      const subscribe = { action: 'subscribe', body: { entity: 'docs', id: `k${k}` }, ref: 1, deltas: true };
      sync.accept(socket, { protocol: 'v1' }).receive(JSON.stringify(subscribe));
    }
  }
  const received = () => sockets.reduce((n, s) => n + s.frames, 0);
  const update = async (): Promise<void> => {
    round++;
    const expected = received() + sockets.length;
    await sync.notifyAllOfChange(Array.from({ length: sizes.keys }, (_, k) => ({ entity: 'docs', id: `k${k}` })));
    while (received() < expected) await tick();
  };
  while (received() < sockets.length * 3) await tick(); // connected, the snapshot and the ack
  await update(); // warm-up: the first change has no base yet on a fresh node
  const before = sync.stats();
  const cpu = process.cpuUsage();
  for (let r = 0; r < sizes.rounds; r++) await update();
  const used = process.cpuUsage(cpu);
  const after = sync.stats();
  await sync.close();
  const deliveries = after.framesSent - before.framesSent;
  return {
    bytes: (after.bytesSent - before.bytesSent) / deliveries,
    cpuUs: (used.user + used.system) / deliveries,
    deltaShare: (after.deltaFramesSent - before.deltaFramesSent) / deliveries,
  };
}

/** Runs the bench, interleaving full and delta runs; returns its figures and prints a Markdown table. */
export async function runDelta(sizes: DeltaSizes, log: (line: string) => void): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  // JIT warm-up, long enough for the optimizing compiler to catch up on a busy machine.
  for (const bytes of ENTITY_BYTES) for (const mode of ['full', 'delta'] as const) await measure(mode, bytes, 1, sizes);
  const rows: string[] = [];
  for (const subscribers of sizes.subscribers) {
    for (const bytes of ENTITY_BYTES) {
      const runs: Record<Mode, Array<Awaited<ReturnType<typeof measure>>>> = { full: [], delta: [] };
      for (let run = 0; run < sizes.runs; run++)
        for (const mode of ['full', 'delta'] as const) runs[mode].push(await measure(mode, bytes, subscribers, sizes));
      const med = (mode: Mode, field: 'bytes' | 'cpuUs' | 'deltaShare') => spread(runs[mode].map((r) => r[field])).median;
      const id = `${bytes / 1000}KB_x${subscribers}`;
      Object.assign(figures, {
        [`fullBytes_${id}`]: med('full', 'bytes'),
        [`deltaBytes_${id}`]: med('delta', 'bytes'),
        [`fullCpuUs_${id}`]: med('full', 'cpuUs'),
        [`deltaCpuUs_${id}`]: med('delta', 'cpuUs'),
      });
      const fewer = med('full', 'bytes') / med('delta', 'bytes');
      const cpu = med('delta', 'cpuUs') / med('full', 'cpuUs');
      rows.push(
        `| ${bytes / 1000} KB | ${subscribers} | ${Math.round(med('full', 'bytes')).toLocaleString('en')} | ${Math.round(med('delta', 'bytes')).toLocaleString('en')} | ${fewer.toFixed(1)}x | ${med('full', 'cpuUs').toFixed(1)} | ${med('delta', 'cpuUs').toFixed(1)} | ${cpu.toFixed(2)}x | ${(med('delta', 'deltaShare') * 100).toFixed(0)}% |`,
      );
      log(`delta: ${rows.at(-1)}`);
    }
  }
  log(`\ndelta: ${sizes.keys} keys, one field changed per update, ${sizes.rounds} rounds, median of ${sizes.runs} runs\n`);
  log(
    '| entity | subscribers per key | bytes per update, full | delta | fewer bytes | CPU µs per update, full | delta | CPU ratio | sent as delta |',
  );
  log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) log(row);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runDelta(process.argv.includes('--quick') ? DELTA_QUICK : DELTA_FULL, (line) => console.log(line));
  process.exit(0);
}
