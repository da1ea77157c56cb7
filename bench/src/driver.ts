/**
 * Entry of the driver process: raw `ws` clients on their own CPU, commanded by the
 * orchestrator over IPC. Records per-frame latency: receive time minus the time the orchestrator
 * sent the notifications of that value's update (it tells the driver `[id, seq]` and that time).
 */
import { nowMs, sleep } from './clock.js';
import { type Request, serve } from './ipc.js';
import { Samples } from './stats.js';
import type { OpenOptions } from './driver-handle.js';
import { ResumeClients } from './resume-clients.js';
import { WireClient } from './wire.js';

/** What the orchestrator asks for (`OpenOptions`), with the concurrency filled in. */
type OpenRequest = OpenOptions & { concurrency: number };

let clients: WireClient[] = [];
let recording = false;
let samples = new Samples();
let frames = 0;
let reordered = 0;
let lastFrameAt = 0;

/** Send time of each update, by `id#seq`; frames that beat their send time wait in `early`. */
const sentAt = new Map<string, number>();
const early = new Map<string, number[]>();

function onData(client: WireClient, id: string, seq: number, snapshot: boolean): void {
  const before = client.last.get(id) ?? -1;
  if (seq < before) reordered++;
  else client.last.set(id, seq);
  recordFrame(id, seq, snapshot);
}

/** Latency of one data frame (any client kind), while recording. */
function recordFrame(id: string, seq: number, snapshot: boolean): void {
  if (!recording || snapshot || seq === 0) return;
  const now = nowMs();
  frames++;
  lastFrameAt = now;
  const key = `${id}#${seq}`;
  const ts = sentAt.get(key);
  if (ts !== undefined) samples.add(now - ts);
  else early.set(key, [...(early.get(key) ?? []), now]);
}

/** The reconnecting clients of `storm`, `jitter` and `drain` (src/resume-clients.ts). */
const resuming = new ResumeClients(recordFrame);

function sent(items: Array<[string, number]>, ts: number): void {
  resuming.sent(items);
  for (const [id, seq] of items) {
    const key = `${id}#${seq}`;
    sentAt.set(key, ts);
    for (const at of early.get(key) ?? []) samples.add(at - ts);
    early.delete(key);
  }
}

async function open(r: OpenRequest): Promise<{ ms: number; failed: number; errors: string[] }> {
  const started = nowMs();
  const base = clients.length;
  let next = 0;
  let failed = 0;
  const errors = new Set<string>();
  const worker = async (): Promise<void> => {
    while (next < r.count) {
      const i = next++;
      const n = base + i;
      const client = new WireClient({
        url: r.urls[i % r.urls.length]!,
        proto: r.proto,
        entity: r.entity,
        ids: r.own ? [String(r.own.first + i)] : (r.ids ?? ['1']),
        ...(r.secrets && { secret: r.secrets[i % r.secrets.length]! }),
        localAddress: `127.0.0.${1 + (n % 8)}`,
        onData,
      });
      clients.push(client);
      await client.ready.catch((e: Error) => {
        failed++;
        if (errors.size < 3) errors.add(e.message);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(r.concurrency, r.count) }, worker));
  return { ms: nowMs() - started, failed, errors: [...errors] };
}

async function converge(
  expected: Record<string, number>,
  timeoutMs: number,
  except: readonly number[],
): Promise<{ converged: number; closed: number; total: number; ms: number; stragglers: string[] }> {
  const started = nowMs();
  const watched = clients.filter((_, i) => !except.includes(i));
  const count = () => {
    let converged = 0;
    let closed = 0;
    for (const c of watched) {
      if (!c.open) closed++;
      else if (c.converged(expected)) converged++;
    }
    return { converged, closed, total: watched.length };
  };
  for (let waited = 0; waited < timeoutMs; waited += 20) {
    const state = count();
    if (state.converged + state.closed === state.total) return { ...state, ms: nowMs() - started, stragglers: [] };
    await sleep(20);
  }
  const stragglers = watched
    .filter((c) => c.open && !c.converged(expected))
    .slice(0, 5)
    .map(
      (c) =>
        `${c.options.ids
          .map((id) => `${id}: has ${c.last.get(id) ?? 'nothing'}, expected ${expected[id] ?? 0}`)
          .find((x) => !x.includes(`has ${expected[x.split(':')[0]!]}`))} (frames: ${c.seen.join(' ')})`,
    );
  return { ...count(), ms: nowMs() - started, stragglers };
}

/** Resolves once no frame has arrived for `ms` (or after `timeoutMs`): the tail of a burst is in. */
async function quiet(ms: number, timeoutMs: number): Promise<void> {
  const started = nowMs();
  let seen = -1;
  let since = nowMs();
  while (nowMs() - started < timeoutMs) {
    if (frames !== seen) {
      seen = frames;
      since = nowMs();
    } else if (nowMs() - since >= ms) return;
    await sleep(10);
  }
}

async function closeAll(): Promise<void> {
  const closing = clients.map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.ws.readyState === c.ws.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        c.ws.terminate();
      }),
  );
  await Promise.race([Promise.all([...closing, resuming.closeAll()]), sleep(5_000)]);
  clients = [];
  sentAt.clear();
  early.clear();
}

serve({
  open: (r) => open(r as unknown as OpenRequest),
  record: (r) => {
    recording = Boolean(r['on']);
    if (recording) {
      samples = new Samples();
      frames = 0;
      reordered = 0;
      lastFrameAt = 0;
    }
  },
  sent: (r) => sent(r['items'] as Array<[string, number]>, Number(r['ts'])),
  quiet: (r) => quiet(Number(r['ms']), Number(r['timeoutMs'])),
  report: () => ({ ...samples.summary(), frames, reordered, lastFrameAt }),
  converge: (r) => converge(r['expected'] as Record<string, number>, Number(r['timeoutMs']), (r['except'] as number[] | undefined) ?? []),
  pause: (r) => clients[Number(r['index'])]?.ws.pause(),
  resume: (r) => clients[Number(r['index'])]?.ws.resume(),
  client: (r: Request) => {
    const c = clients[Number(r['index'])];
    return c && { last: Object.fromEntries(c.last), closeCode: c.closeCode ?? null, open: c.open };
  },
  closeAll: () => closeAll(),
  ...resuming.handlers(),
});
process.send?.({ t: 'ready' });
