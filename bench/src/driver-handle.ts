import { Rpc } from './ipc.js';
import { DRIVER_CPU, spawnNode, stopChild } from './procs.js';
import type { Proto } from './wire.js';

export interface OpenOptions {
  proto: Proto;
  urls: string[];
  entity: string;
  count: number;
  /** 'own': client i subscribes to id `first + i`; otherwise every client subscribes to `ids`. */
  own?: { first: number };
  ids?: string[];
  secrets?: string[];
  concurrency?: number;
}

export interface LatencyReport {
  count: number;
  p50: number;
  p99: number;
  max: number;
  frames: number;
  reordered: number;
  lastFrameAt: number;
}

export interface ConvergeReport {
  converged: number;
  closed: number;
  total: number;
  ms: number;
  /** A few clients that did not converge: `id: has N, expected M`. */
  stragglers: string[];
}

/** The orchestrator's handle on the driver process. */
export class Driver {
  private constructor(private readonly rpc: Rpc) {}

  static async start(): Promise<Driver> {
    const child = spawnNode('driver', DRIVER_CPU, [], ['--max-old-space-size=4096']);
    const rpc = new Rpc(child, 'driver');
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      void rpc.exited.then((code) => reject(new Error(`driver exited (${code}) before ready`)));
    });
    return new Driver(rpc);
  }

  /** Opens clients; throws if any failed (a broken target must not yield figures). */
  async open(options: OpenOptions): Promise<{ ms: number }> {
    const r = await this.rpc.call<{ ms: number; failed: number; errors: string[] }>({ t: 'open', concurrency: 200, ...options });
    if (r.failed > 0) throw new Error(`${r.failed} of ${options.count} clients failed to subscribe: ${r.errors.join('; ')}`);
    return r;
  }

  /** Tells the driver when the notifications of these updates went out. */
  sent(items: Array<[string, number]>, ts: number): void {
    this.rpc.post({ t: 'sent', items, ts });
  }

  record(on: boolean): Promise<void> {
    return this.rpc.call({ t: 'record', on });
  }

  report(): Promise<LatencyReport> {
    return this.rpc.call({ t: 'report' });
  }

  /** Waits until every client (but `except`, by index) holds the latest seq of each of its ids. */
  converge(expected: Record<string, number>, timeoutMs: number, except: number[] = []): Promise<ConvergeReport> {
    return this.rpc.call({ t: 'converge', expected, timeoutMs, except }, timeoutMs + 30_000);
  }

  /**
   * Waits until no frame has arrived for `ms`. Convergence alone does not mean every frame of a
   * burst is in: a burst's updates may all carry the final value.
   */
  quiet(ms = 100, timeoutMs = 60_000): Promise<void> {
    return this.rpc.call({ t: 'quiet', ms, timeoutMs }, timeoutMs + 30_000);
  }

  pause(index: number): Promise<void> {
    return this.rpc.call({ t: 'pause', index });
  }

  resume(index: number): Promise<void> {
    return this.rpc.call({ t: 'resume', index });
  }

  client(index: number): Promise<{ last: Record<string, number>; closeCode: number | null; open: boolean }> {
    return this.rpc.call({ t: 'client', index });
  }

  /** Any other request, e.g. to the reconnecting clients (`resume.*`, src/resume-clients.ts). */
  call<T>(request: { t: string; [field: string]: unknown }, timeoutMs?: number): Promise<T> {
    return this.rpc.call(request, timeoutMs);
  }

  closeAll(): Promise<void> {
    return this.rpc.call({ t: 'closeAll' });
  }

  async stop(): Promise<void> {
    await stopChild(this.rpc.child);
  }
}
