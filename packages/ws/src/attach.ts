import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type EntitySync, PROTOCOL_V1, type ProtocolMode } from '@entity-sync/core';
import { type WebSocket, WebSocketServer } from 'ws';
import { Heartbeat } from './heartbeat.js';
import { TickCorker } from './tick-corker.js';
import { type AttachOptions, type ResolvedAttachOptions, resolveOptions } from './options.js';
import { rejectUpgrade } from './reject.js';

/** What {@link attachWebSocket} returns. */
export interface WebSocketAttachment {
  /** The underlying `ws` server (in `noServer` mode). */
  readonly wss: WebSocketServer;
  /** Whether `req` is an upgrade this transport takes (its path matches). */
  shouldHandle(req: IncomingMessage): boolean;
  /**
   * Completes (or refuses with an HTTP status) an upgrade request. Call it from your own
   * `upgrade` listener in `noServer` mode; requests for another path get 404.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Stops taking upgrades and closes this transport's connections with 1001. */
  close(): Promise<void>;
}

/**
 * Serves entity-sync over WebSocket on an existing HTTP server (or in `noServer` mode).
 * Clients asking for subprotocol `entity-sync.v1` get v1 mode; clients asking for none get
 * legacy mode, byte-compatible with the Go `entity-sync` library.
 */
export function attachWebSocket(sync: EntitySync, options: AttachOptions): WebSocketAttachment {
  return new WebSocketTransport(sync, resolveOptions(options));
}

class WebSocketTransport implements WebSocketAttachment {
  readonly wss: WebSocketServer;
  readonly #heartbeat: Heartbeat;
  readonly #corker = new TickCorker();
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (this.shouldHandle(req)) this.handleUpgrade(req, socket, head);
  };
  #closed = false;

  constructor(
    private readonly sync: EntitySync,
    private readonly options: ResolvedAttachOptions,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      handleProtocols: (protocols) => (protocols.has(PROTOCOL_V1) ? PROTOCOL_V1 : false),
    });
    this.#heartbeat = new Heartbeat(this.wss, options.heartbeatIntervalMs);
    options.server?.on('upgrade', this.#onUpgrade);
  }

  shouldHandle(req: IncomingMessage): boolean {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === this.options.path;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.#admit(req).then(
      (admission) => {
        if (typeof admission === 'number') rejectUpgrade(socket, admission);
        else this.wss.handleUpgrade(req, socket, head, (ws) => this.#bind(ws, admission));
      },
      () => rejectUpgrade(socket, 500),
    );
  }

  /** Runs the checks of an upgrade: an HTTP status to refuse it, or how to accept it. */
  async #admit(req: IncomingMessage): Promise<number | { mode: ProtocolMode; secret: string | undefined }> {
    if (this.#closed) return 503;
    if (!this.shouldHandle(req)) return 404;
    const { origins, authenticate } = this.options;
    if (origins !== undefined && !(await origins(req.headers.origin, req))) return 403;
    const mode = requestedMode(req);
    if (mode === 'legacy' && !this.options.legacy) return 426;
    let secret: string | undefined | false;
    try {
      secret = authenticate === undefined ? undefined : await authenticate(req);
    } catch {
      return 401;
    }
    if (secret === false) return 401;
    return this.#closed ? 503 : { mode, secret };
  }

  #bind(ws: WebSocket, admission: { mode: ProtocolMode; secret: string | undefined }): void {
    const { maxSubscriptionsPerConnection, onPassThrough, highWaterMark, maxBufferedBytes, maxSlowMs } = this.options;
    // `_socket` is ws's underlying net.Socket (undocumented, stable across ws 8).
    const raw = (ws as unknown as { _socket?: Duplex })._socket;
    const corker = this.#corker;
    const handle = this.sync.accept(
      {
        send(data) {
          if (raw !== undefined) corker.cork(raw);
          ws.send(data, { binary: false });
        },
        close: (code, reason) => closeSoon(ws, code, reason),
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
      },
      {
        protocol: admission.mode,
        maxSubscriptions: maxSubscriptionsPerConnection,
        highWaterMark,
        maxBufferedBytes,
        maxSlowMs,
        ...(admission.secret === undefined ? {} : { secret: admission.secret }),
        ...(onPassThrough === undefined ? {} : { onPassThrough }),
      },
    );
    this.#heartbeat.watch(ws);
    raw?.on('drain', () => handle.drained());
    ws.on('message', (data: Buffer) => handle.receive(data));
    ws.on('close', () => handle.closed());
    ws.on('error', () => {
      // `ws` closes the socket after an error (e.g. 1009 for a frame over maxPayload).
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.options.server?.off('upgrade', this.#onUpgrade);
    this.#heartbeat.stop();
    for (const ws of this.wss.clients) ws.close(CloseCode.GoingAway, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** How long a closing peer has to answer the close frame before it is cut off. */
const CLOSE_GRACE_MS = 5_000;

/** Starts the close handshake; a peer that does not read (a slow consumer) is cut off soon. */
function closeSoon(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

function requestedMode(req: IncomingMessage): ProtocolMode {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return 'legacy';
  return header.split(',').some((p) => p.trim() === PROTOCOL_V1) ? 'v1' : 'legacy';
}

