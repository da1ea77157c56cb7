import { afterEach, beforeEach, vi } from 'vitest';
import { type Client, createClient } from './client.js';
import type { ClientError } from './errors.js';
import type { ClientOptions, ConnectionState, WebSocketLike } from './types.js';

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

/** A fake socket that, like Node's `ws`, reports a refused upgrade's response to `unexpected-response`. */
export class UpgradeFakeSocket extends FakeSocket {
  private rejected: ((request: unknown, response: { statusCode: number; headers: Record<string, string> }) => void) | undefined;

  on(event: string, listener: NonNullable<UpgradeFakeSocket['rejected']>): void {
    if (event === 'unexpected-response') this.rejected = listener;
  }

  /** The server answers the upgrade with `statusCode` (and `headers`) instead of 101. */
  reject(statusCode: number, headers: Record<string, string> = {}): void {
    this.rejected?.({}, { statusCode, headers });
  }
}

/** A client on fake sockets, with what it reported: the test drives `FakeSocket.last()`. */
export function startFakeClient(options: Partial<ClientOptions> = {}): {
  client: Client;
  errors: ClientError[];
  states: ConnectionState[];
} {
  const client = createClient({
    url: 'ws://test/ws/entity-sync/',
    WebSocket: FakeSocket,
    retry: { minDelayMs: 100, maxDelayMs: 100 },
    ...options,
  });
  const errors: ClientError[] = [];
  const states: ConnectionState[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('state', (s) => states.push(s));
  return { client, errors, states };
}

/**
 * Per test: fresh fake sockets and fake timers (`setTimeout`, `clearTimeout`); after it, closes the
 * client `current()` returns and restores real timers and every mock.
 */
export function useFakeClientClock(current: () => Client | undefined): void {
  beforeEach(() => {
    FakeSocket.instances = [];
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    await current()?.close();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}
