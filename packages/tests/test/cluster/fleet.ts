import { WebSocket } from 'ws';

interface DataFrame {
  type: string;
  ref?: string | number;
  id?: string;
  data?: { id: string; v: number } | null;
}

/** A v1 client that keeps the latest version it received per id and counts reorderings. */
export class FleetClient {
  readonly latest = new Map<string, number>();
  readonly ids = new Set<string>();
  reordered = 0;
  #acks = new Map<string, () => void>();
  #ref = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.#onFrame(JSON.parse(data.toString()) as DataFrame));
  }

  static connect(url: string): Promise<FleetClient> {
    const ws = new WebSocket(url, ['entity-sync.v1']);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FleetClient(ws)));
      ws.once('error', reject);
    });
  }

  #onFrame(frame: DataFrame): void {
    if (frame.type === 'data' && frame.id !== undefined && frame.data) {
      const previous = this.latest.get(frame.id) ?? 0;
      if (frame.data.v < previous) this.reordered++;
      this.latest.set(frame.id, Math.max(previous, frame.data.v));
    }
    if ((frame.type === 'ack' || frame.type === 'error') && frame.ref !== undefined) {
      this.#acks.get(String(frame.ref))?.();
    }
  }

  /** Subscribes to every id in one batch and waits for the ack. */
  subscribe(ids: string[]): Promise<void> {
    for (const id of ids) this.ids.add(id);
    const ref = `r${++this.#ref}`;
    const body = ids.map((id) => ({ entity: 'items', id }));
    return new Promise((resolve) => {
      this.#acks.set(ref, resolve);
      this.ws.send(JSON.stringify({ action: 'subscribe', body, ref }));
    });
  }

  /** Ids whose latest received version differs from `version(id)`. */
  stale(version: (id: string) => number): string[] {
    return [...this.ids].filter((id) => (this.latest.get(id) ?? -1) !== version(id));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.terminate();
  }
}
