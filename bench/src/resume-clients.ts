/**
 * Driver side of `storm`, `jitter` and `drain`: raw v1 clients that lose their connection and come
 * back, resuming with the fingerprint of each value they hold (`fp` on a key), as
 * `@entity-sync/client` does. They reconnect on their own after a 1012 (node draining: to another
 * node, after a random delay of up to 1 s) and after a 503 (after `Retry-After` plus up to 1 s).
 */
import type { IncomingMessage } from 'node:http';
import { fingerprint } from '@entity-sync/protocol';
import WebSocket from 'ws';
import { nowMs, sleep } from './clock.js';
import type { Handler, Request } from './ipc.js';
import { quantile } from './stats.js';
import { idField, numberField } from './wire.js';

/** Clients opened together (e.g. those of the node to drain). */
export interface GroupSpec {
  group: string;
  count: number;
  /** Client i connects to `urls[i % urls.length]`. */
  urls: string[];
  /** After a 1012 a client reconnects to one of these, picked at random (default: its own url). */
  fallback?: string[];
  entity: string;
  /** Client i holds ids `${prefix}${(i * perClient + j) % distinct}` for j < perClient. */
  keys: { prefix: string; perClient: number; distinct: number };
}

/** Times of one reconnect of one client (ms, `nowMs()` clock). */
interface Resume {
  group: string;
  /** It lost its connection. */
  downAt: number;
  /** It began to connect again (the first attempt, 503s included). */
  openAt: number;
  /** Its socket opened (the upgrade that was accepted). */
  openedAt: number;
  /** Its subscribe was acked and it held, for every key, the latest value sent before `openAt`. */
  freshAt: number;
}

/** What the orchestrator gets back: reconnects since the last reset, and the clients' state now. */
export interface ResumeSummary {
  /** Reconnects that ended fresh. */
  resumes: number;
  /** From the first connect attempt to fresh, ms. */
  p50: number;
  p99: number;
  max: number;
  /** From losing the connection to fresh (includes the client's own delay), ms. */
  downP99: number;
  /** From the first connect attempt to the socket open (upgrade accepted), ms. */
  connectP99: number;
  /** From the reset (the storm, the drain) to the last fresh, ms. */
  lastFreshMs: number;
  /** Reconnects that ended fresh in the busiest second, and on average over the seconds that had any. */
  peakPerSec: number;
  meanPerSec: number;
  /** Connections lost (dropped, or closed by the server) in the busiest second: how evenly a drain closes them. */
  downPeakPerSec: number;
  /** WebSocket message bytes and data frames received since the reset. */
  bytes: number;
  dataFrames: number;
  /** Upgrades refused with 503, connections lost otherwise (not by the scenario), error frames. */
  refused: number;
  failures: number;
  errorFrames: number;
  /** Clients of the group that are not connected with a fresh subscription now. */
  notBack: number;
  clients: number;
  /** CPU time (user + system) of the driver process since the reset, ms: is the driver the bottleneck? */
  driverCpuMs: number;
  /** A few error frames or failure reasons. */
  errors: string[];
}

type OnFrame = (id: string, seq: number, snapshot: boolean) => void;

interface Held {
  seq: number;
  fp: number;
}

interface Pending {
  downAt: number;
  openAt: number | undefined;
  openedAt: number;
  ref: number;
  acked: boolean;
  /** Latest seq sent for each id (in `ids` order) when the subscribe left. */
  target: number[];
}

class ResumeClient {
  ws: WebSocket | undefined;
  readonly held = new Map<string, Held>();
  useFp = true;
  #ref = 0;
  #pending: Pending | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryAfterMs: number | undefined;
  #stopped = false;
  #onFresh: (() => void) | undefined;

  constructor(
    readonly pool: ResumeClients,
    readonly group: string,
    readonly entity: string,
    readonly ids: string[],
    public url: string,
    readonly fallback: string[] | undefined,
    readonly localAddress: string,
  ) {}

  /** Connected, subscribed and fresh (no reconnect in progress). */
  get up(): boolean {
    return this.ws !== undefined && this.#pending === undefined;
  }

  /** Resolves at the end of the current reconnect (at once when up). */
  whenFresh(): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve) => (this.#onFresh = resolve));
  }

  /** Drops the connection now (as a network blip would) and connects again after `downMs`. */
  drop(downMs: number): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
    this.#pending = { downAt: nowMs(), openAt: undefined, openedAt: 0, ref: 0, acked: false, target: [] };
    this.#later(downMs);
  }

  /** Opens a socket now (the first connect, or a reconnect the client decided on). */
  connect(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = nowMs();
    this.#pending ??= { downAt: now, openAt: undefined, openedAt: 0, ref: 0, acked: false, target: [] };
    this.#pending.openAt ??= now;
    this.#retryAfterMs = undefined;
    const ws = new WebSocket(this.url, ['entity-sync.v1'], { perMessageDeflate: false, localAddress: this.localAddress });
    this.ws = ws;
    ws.on('open', () => this.#subscribe(ws));
    ws.on('message', (data: Buffer) => this.#frame(ws, data));
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      // 503 from admission control or a draining node: come back after Retry-After (plus jitter).
      this.#retryAfterMs = res.statusCode === 503 ? Number(res.headers['retry-after'] ?? 1) * 1000 : 500;
      if (res.statusCode !== 503) this.pool.fail(`upgrade refused with ${res.statusCode}`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', (code) => this.#closed(ws, code));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.ws?.terminate();
    this.#onFresh?.();
  }

  #later(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.connect(), ms);
  }

  #closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws || this.#stopped) return; // dropped on purpose, or replaced
    this.ws = undefined;
    const resuming = this.#pending !== undefined;
    if (!resuming) this.#pending = { downAt: nowMs(), openAt: undefined, openedAt: 0, ref: 0, acked: false, target: [] };
    if (this.#retryAfterMs !== undefined) {
      this.pool.refused++;
      this.#later(this.#retryAfterMs + Math.random() * 1000);
    } else if (code === 1012 || code === 1001) {
      // The node is going away: another node, after a random delay of up to a second.
      if (this.fallback?.length) this.url = this.fallback[Math.floor(Math.random() * this.fallback.length)]!;
      this.#later(Math.random() * 1000);
    } else {
      this.pool.fail(`connection lost with ${code}`);
      this.#later(500 + Math.random() * 500);
    }
  }

  #subscribe(ws: WebSocket): void {
    const pending = this.#pending;
    if (ws !== this.ws || !pending) return;
    pending.openedAt = nowMs();
    pending.ref = ++this.#ref;
    pending.acked = false;
    pending.target = this.ids.map((id) => this.pool.latest.get(id) ?? 0);
    const { entity } = this;
    const body = this.ids.map((id) => {
      const held = this.useFp ? this.held.get(id) : undefined;
      return held ? { entity, id, fp: held.fp } : { entity, id };
    });
    ws.send(JSON.stringify({ action: 'subscribe', body, ref: pending.ref }));
  }

  #frame(ws: WebSocket, data: Buffer): void {
    if (ws !== this.ws) return;
    this.pool.bytes += data.length;
    const text = data.toString();
    const pending = this.#pending;
    if (text.startsWith('{"type":"data"')) {
      const id = idField(text);
      const seq = numberField(text, 'seq');
      // v1 data frame: `{"type":"data","entity":..,"id":..,"data":<value JSON>}`; the fingerprint is of that JSON.
      const json = text.slice(text.indexOf('"data":') + 7, -1);
      const before = this.held.get(id)?.seq ?? -1;
      if (seq >= before) this.held.set(id, { seq, fp: fingerprint([json]) });
      this.pool.dataFrames++;
      this.pool.onFrame(id, seq, pending !== undefined && !pending.acked);
      if (pending?.acked) this.#checkFresh(pending);
    } else if (text.startsWith('{"type":"ack"')) {
      if (pending && numberField(text, 'ref') === pending.ref) {
        pending.acked = true;
        this.#checkFresh(pending);
      }
    } else if (text.startsWith('{"type":"error"')) {
      this.pool.errorFrames++;
      this.pool.fail(text);
    }
  }

  #checkFresh(pending: Pending): void {
    for (let i = 0; i < this.ids.length; i++) {
      if ((this.held.get(this.ids[i]!)?.seq ?? -1) < pending.target[i]!) return;
    }
    this.#pending = undefined;
    const openAt = pending.openAt ?? pending.downAt;
    this.pool.resumed({ group: this.group, downAt: pending.downAt, openAt, openedAt: pending.openedAt, freshAt: nowMs() });
    const done = this.#onFresh;
    this.#onFresh = undefined;
    done?.();
  }
}

/** The driver's resuming clients and their counters; `handlers()` answers the orchestrator. */
export class ResumeClients {
  clients: ResumeClient[] = [];
  /** Latest seq the orchestrator sent for each id (what a fresh client must hold). */
  readonly latest = new Map<string, number>();
  bytes = 0;
  dataFrames = 0;
  refused = 0;
  failures = 0;
  errorFrames = 0;
  #errors = new Set<string>();
  #resumes: Resume[] = [];
  #since = nowMs();
  #cpuSince = process.cpuUsage();
  #cycles: NodeJS.Timeout[] = [];
  #jittering = false;

  constructor(readonly onFrame: OnFrame) {}

  /** Told by the driver of every update the orchestrator sent. */
  sent(items: Array<[string, number]>): void {
    for (const [id, seq] of items) if (seq > (this.latest.get(id) ?? -1)) this.latest.set(id, seq);
  }

  resumed(resume: Resume): void {
    this.#resumes.push(resume);
  }

  fail(reason: string): void {
    this.failures++;
    if (this.#errors.size < 3) this.#errors.add(reason.slice(0, 200));
  }

  /** Opens a group, `concurrency` connects at a time; resolves once all are fresh (or after `timeoutMs`). */
  async open(spec: GroupSpec, concurrency: number, timeoutMs: number): Promise<{ ms: number; notBack: number }> {
    const started = nowMs();
    const { prefix, perClient, distinct } = spec.keys;
    const group: ResumeClient[] = [];
    for (let i = 0; i < spec.count; i++) {
      const ids = Array.from({ length: perClient }, (_, j) => `${prefix}${(i * perClient + j) % distinct}`);
      const n = this.clients.length;
      const client = new ResumeClient(this, spec.group, spec.entity, ids, spec.urls[i % spec.urls.length]!, spec.fallback, localAddress(n));
      this.clients.push(client);
      group.push(client);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < group.length && nowMs() - started < timeoutMs) {
        const client = group[next++]!;
        client.connect();
        await Promise.race([client.whenFresh(), sleep(timeoutMs)]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, group.length) }, worker));
    return { ms: nowMs() - started, notBack: group.filter((c) => !c.up).length };
  }

  /** Forgets the reconnects and counters so far; figures after this count from now. */
  reset(): void {
    this.#resumes = [];
    this.#since = nowMs();
    this.#cpuSince = process.cpuUsage();
    this.bytes = this.dataFrames = this.refused = this.failures = this.errorFrames = 0;
    this.#errors.clear();
  }

  /** Every client drops its connection now and reconnects within `spreadMs`; resolves once all are fresh. */
  async storm(fp: boolean, spreadMs: number, timeoutMs: number): Promise<ResumeSummary> {
    this.reset();
    for (const client of this.clients) {
      client.useFp = fp;
      client.drop(Math.random() * spreadMs);
    }
    await this.settle(timeoutMs);
    return this.summary();
  }

  /** Each client, from a random moment in its first `upMs`, drops every `upMs + downMs` for `downMs`. */
  startJitter(upMs: number, downMs: number): void {
    this.reset();
    this.#jittering = true;
    for (const [i, client] of this.clients.entries()) {
      const cycle = (): void => {
        if (!this.#jittering) return;
        client.drop(downMs);
        this.#cycles[i] = setTimeout(cycle, upMs + downMs);
      };
      this.#cycles[i] = setTimeout(cycle, Math.random() * upMs);
    }
  }

  /** Stops dropping clients; resolves once every client is back and fresh (or after `timeoutMs`). */
  async stopJitter(timeoutMs: number): Promise<ResumeSummary> {
    this.#jittering = false;
    for (const timer of this.#cycles) clearTimeout(timer);
    this.#cycles = [];
    await this.settle(timeoutMs);
    return this.summary();
  }

  /** Waits until every client is up (or `timeoutMs`). */
  async settle(timeoutMs: number): Promise<void> {
    const started = nowMs();
    while (nowMs() - started < timeoutMs && this.clients.some((c) => !c.up)) await sleep(20);
  }

  /** Clients that are up and hold at least `expected[id]` for each of their ids, polled until all do. */
  async converge(expected: Record<string, number>, timeoutMs: number): Promise<{ converged: number; total: number }> {
    const started = nowMs();
    const count = (): number =>
      this.clients.filter((c) => c.up && c.ids.every((id) => (c.held.get(id)?.seq ?? -1) >= (expected[id] ?? 0))).length;
    while (nowMs() - started < timeoutMs && count() < this.clients.length) await sleep(20);
    return { converged: count(), total: this.clients.length };
  }

  /** Reconnects since the last reset (of `group`, or all). */
  summary(group?: string): ResumeSummary {
    const resumes = this.#resumes.filter((r) => group === undefined || r.group === group);
    const members = this.clients.filter((c) => group === undefined || c.group === group);
    const fromOpen = Float64Array.from(resumes, (r) => r.freshAt - r.openAt).sort();
    const fromDown = Float64Array.from(resumes, (r) => r.freshAt - r.downAt).sort();
    const connecting = Float64Array.from(resumes, (r) => r.openedAt - r.openAt).sort();
    const cpu = process.cpuUsage(this.#cpuSince);
    const perSecond = this.#perSecond(resumes.map((r) => r.freshAt));
    return {
      resumes: resumes.length,
      p50: quantile(fromOpen, 0.5),
      p99: quantile(fromOpen, 0.99),
      max: fromOpen[fromOpen.length - 1] ?? NaN,
      downP99: quantile(fromDown, 0.99),
      connectP99: quantile(connecting, 0.99),
      lastFreshMs: resumes.reduce((max, r) => Math.max(max, r.freshAt - this.#since), 0),
      peakPerSec: Math.max(0, ...perSecond.values()),
      meanPerSec: perSecond.size ? resumes.length / perSecond.size : 0,
      downPeakPerSec: Math.max(0, ...this.#perSecond(resumes.map((r) => r.downAt)).values()),
      bytes: this.bytes,
      dataFrames: this.dataFrames,
      refused: this.refused,
      failures: this.failures,
      errorFrames: this.errorFrames,
      notBack: members.filter((c) => !c.up).length,
      clients: members.length,
      driverCpuMs: (cpu.user + cpu.system) / 1000,
      errors: [...this.#errors],
    };
  }

  /** How many of `times` fall in each second since the reset. */
  #perSecond(times: number[]): Map<number, number> {
    const counts = new Map<number, number>();
    for (const t of times) {
      const second = Math.floor((t - this.#since) / 1000);
      counts.set(second, (counts.get(second) ?? 0) + 1);
    }
    return counts;
  }

  async closeAll(): Promise<void> {
    this.#jittering = false;
    for (const timer of this.#cycles) clearTimeout(timer);
    this.#cycles = [];
    const closing = this.clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          const ws = c.ws;
          c.stop();
          if (!ws || ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
        }),
    );
    await Promise.race([Promise.all(closing), sleep(5_000)]);
    this.clients = [];
    this.latest.clear();
    this.reset();
  }

  /** IPC handlers, all named `resume.*`. */
  handlers(): Record<string, Handler> {
    return {
      'resume.open': (r: Request) => this.open(r['spec'] as GroupSpec, Number(r['concurrency'] ?? 200), Number(r['timeoutMs'])),
      'resume.reset': () => this.reset(),
      'resume.storm': (r) => this.storm(Boolean(r['fp']), Number(r['spreadMs']), Number(r['timeoutMs'])),
      'resume.startJitter': (r) => this.startJitter(Number(r['upMs']), Number(r['downMs'])),
      'resume.stopJitter': (r) => this.stopJitter(Number(r['timeoutMs'])),
      'resume.settle': (r) => this.settle(Number(r['timeoutMs'])),
      'resume.converge': (r) => this.converge(r['expected'] as Record<string, number>, Number(r['timeoutMs'])),
      'resume.summary': (r) => this.summary(r['group'] as string | undefined),
    };
  }
}

/** Source address of the n-th client: spread over 127.0.0.1-16 so no (source, destination) pair runs out of ports. */
function localAddress(n: number): string {
  return `127.0.0.${1 + (n % 16)}`;
}
