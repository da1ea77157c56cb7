import type { WebSocketLike } from './types.js';

/** A scripted stand-in for a WebSocket, for unit tests of the client. */
export class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: { action: string; body: unknown; ref: number }[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    readonly protocols: string,
  ) {
    FakeSocket.instances.push(this);
  }

  static last(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error('no socket yet');
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as FakeSocket['sent'][number]);
  }

  close(code = 1005, reason = ''): void {
    this.closedWith = code;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** The server accepts the connection and says hello. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
    this.receive({ type: 'connected', protocol: 1 });
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The server (or the network) closes the connection. */
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Acks the last message sent. */
  ackLast(): void {
    const last = this.sent.at(-1);
    if (!last) throw new Error('nothing sent');
    this.receive({ type: 'ack', ref: last.ref });
  }
}
