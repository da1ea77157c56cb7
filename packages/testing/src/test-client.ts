import { WebSocket } from 'ws';

export interface TestClientOptions {
  /** `v1` asks for subprotocol `entity-sync.v1`; `legacy` asks for none. @default 'v1' */
  protocol?: 'v1' | 'legacy';
  headers?: Record<string, string>;
}

/**
 * A raw WebSocket client for tests: buffers every frame it receives, so a test can wait for a
 * frame that may already have arrived, without sleeps.
 */
export class TestClient {
  readonly frames: string[] = [];
  /** `frames`, parsed once on arrival (a frame that is not JSON stays a string). */
  readonly parsed: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #cursor = 0;
  #listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      this.frames.push(text);
      this.parsed.push(parse(text));
      for (const listener of this.#listeners) listener();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, options: TestClientOptions = {}): Promise<TestClient> {
    const protocols = options.protocol === 'legacy' ? [] : ['entity-sync.v1'];
    const ws = new WebSocket(url, protocols, { headers: options.headers ?? {} });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Forgets every frame received so far. */
  clear(): void {
    this.frames.length = 0;
    this.parsed.length = 0;
    this.#cursor = 0;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Parsed frames received so far. */
  get messages(): unknown[] {
    return this.parsed;
  }

  /** Waits for the next frame after those already taken by `next`, optionally matching. */
  async next(match: (frame: any) => boolean = () => true, timeoutMs = 5_000): Promise<any> {
    const found = await this.#waitFrom(() => this.#cursor, match, timeoutMs);
    this.#cursor = found.index + 1;
    return found.value;
  }

  /** Waits for any frame (seen or not) that matches. */
  async waitFor(match: (frame: any) => boolean, timeoutMs = 5_000): Promise<any> {
    return (await this.#waitFrom(() => 0, match, timeoutMs)).value;
  }

  /** Sends `message` and waits for its `ack` or `error` (by `ref`), returning the frame. */
  async request(message: Record<string, unknown>, ref: string | number): Promise<any> {
    this.send({ ...message, ref });
    return this.next((f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref);
  }

  #waitFrom(start: () => number, match: (frame: any) => boolean, timeoutMs: number): Promise<{ index: number; value: any }> {
    return new Promise((resolve, reject) => {
      let scanned = 0; // frames already checked against `match`
      const check = (): boolean => {
        for (let i = Math.max(start(), scanned); i < this.parsed.length; i++) {
          const value = this.parsed[i];
          if (match(value)) {
            cleanup();
            resolve({ index: i, value });
            return true;
          }
        }
        scanned = this.parsed.length;
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-10))}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const listener = (): void => void check();
      this.#listeners.add(listener);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

function parse(frame: string): unknown {
  try {
    return JSON.parse(frame);
  } catch {
    return frame;
  }
}
