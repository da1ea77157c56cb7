import WebSocket from 'ws';

export type Proto = 'es' | 'sio';

/** What a client saw of one data frame. */
export type OnData = (client: WireClient, id: string, seq: number, snapshot: boolean) => void;

/** Reads `"name":<number>` from a JSON text without parsing it all (the driver must stay cheap). */
export function numberField(text: string, name: string, from = 0): number {
  const at = text.indexOf(`"${name}":`, from);
  if (at === -1) return NaN;
  const start = at + name.length + 3;
  let end = start;
  while (end < text.length && ',}] '.indexOf(text[end]!) === -1) end++;
  return Number(text.slice(start, end));
}

/** Reads the first `"id":"..."` (ids in the benchmark hold no quotes or escapes). */
export function idField(text: string): string {
  const at = text.indexOf('"id":"');
  if (at === -1) return '';
  return text.slice(at + 6, text.indexOf('"', at + 6));
}

export interface ClientOptions {
  url: string;
  proto: Proto;
  entity: string;
  ids: string[];
  secret?: string;
  localAddress?: string;
  onData: OnData;
}

/**
 * One raw `ws` client speaking either entity-sync v1 or Socket.IO's engine.io v4 framing.
 * `ready` resolves once its subscribe is acked (after the snapshot).
 */
export class WireClient {
  readonly ws: WebSocket;
  readonly last = new Map<string, number>();
  closeCode: number | undefined;
  /** Data frames seen as `id=seq` (last few), for reports on clients that did not converge. */
  readonly seen: string[] = [];
  readonly ready: Promise<void>;
  #acked!: () => void;
  #failed!: (e: Error) => void;

  constructor(readonly options: ClientOptions) {
    this.ready = new Promise((resolve, reject) => {
      this.#acked = resolve;
      this.#failed = reject;
    });
    const { url, proto, localAddress } = options;
    this.ws = new WebSocket(url, proto === 'es' ? ['entity-sync.v1'] : [], {
      perMessageDeflate: false,
      ...(localAddress && { localAddress }),
    });
    this.ws.on('open', () => this.#onOpen());
    this.ws.on('message', (data: Buffer) => this.#onFrame(data.toString()));
    this.ws.on('error', (error) => this.#failed(error));
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.#failed(new Error(`closed with ${code} before ack`));
    });
  }

  #onOpen(): void {
    if (this.options.proto === 'sio') return; // waits for the engine.io open packet
    const { secret, entity, ids } = this.options;
    if (secret !== undefined) this.ws.send(JSON.stringify({ action: 'secret', body: secret }));
    const body = ids.length === 1 ? { entity, id: ids[0] } : ids.map((id) => ({ entity, id }));
    this.ws.send(JSON.stringify({ action: 'subscribe', body, ref: 1 }));
  }

  #onFrame(text: string): void {
    if (this.options.proto === 'es') this.#onEsFrame(text);
    else this.#onSioFrame(text);
  }

  #onEsFrame(text: string): void {
    if (text.startsWith('{"type":"data"')) this.#data(text);
    else if (text.startsWith('{"type":"ack"')) this.#acked();
    else if (text.startsWith('{"type":"error"')) this.#failed(new Error(text));
  }

  #onSioFrame(text: string): void {
    if (text.startsWith('42')) return this.#data(text);
    if (text === '2') return this.ws.send('3');
    if (text.startsWith('0{')) return this.ws.send('40');
    if (text.startsWith('40')) {
      const { entity, ids } = this.options;
      this.ws.send(`421${JSON.stringify(['subscribe', ids.map((id) => ({ entity, id }))])}`);
      return;
    }
    if (text.startsWith('431')) {
      this.#snapshot(text);
      this.#acked();
    }
  }

  #data(text: string): void {
    const seq = numberField(text, 'seq');
    if (this.seen.length < 8) this.seen.push(`${idField(text)}=${seq}`);
    this.options.onData(this, idField(text), seq, false);
  }

  #snapshot(text: string): void {
    let at = 0;
    for (;;) {
      at = text.indexOf('"id":"', at);
      if (at === -1) return;
      const id = text.slice(at + 6, text.indexOf('"', at + 6));
      const seq = numberField(text, 'seq', at);
      this.options.onData(this, id, seq, true);
      at = text.indexOf('"seq":', at) + 1;
      if (at === 0) return;
    }
  }

  /** Whether this client holds at least `expected[id]` for each of its ids. */
  converged(expected: Record<string, number>): boolean {
    return this.options.ids.every((id) => (this.last.get(id) ?? -1) >= (expected[id] ?? 0));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}
