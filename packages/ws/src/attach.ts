import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type AcceptOptions, CloseCode, type EntitySync, PROTOCOL_V1, type ProtocolMode } from '@entity-sync/core';
import { type WebSocket, WebSocketServer } from 'ws';
import { Heartbeat } from './heartbeat.js';
import { TickCorker } from './tick-corker.js';
import { WsSocket } from './ws-socket.js';
import { type AttachOptions, type ResolvedAttachOptions, resolveOptions } from './options.js';
import { rejectUpgrade } from './reject.js';
import { Admission } from './admission.js';
import { answerPlainRequests } from './plain-requests.js';

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
  /** What every connection of one mode shares (one object each, not one per connection). */
  readonly #acceptOptions: Record<ProtocolMode, AcceptOptions>;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Another upgrade listener may own other paths; when there is none, answer them here.
    if (this.shouldHandle(req) || this.options.server?.listenerCount('upgrade') === 1) this.handleUpgrade(req, socket, head);
  };
  readonly #restoreRequests: () => void = () => undefined;
  readonly #admission: Admission;
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
    this.#admission = new Admission(options.admission);
    this.#acceptOptions = { legacy: { protocol: 'legacy' }, v1: { protocol: 'v1' } };
    if (options.server !== undefined) {
      options.server.on('upgrade', this.#onUpgrade);
      this.#restoreRequests = answerPlainRequests(options.server, (req) => this.shouldHandle(req));
    }
  }

  /** The path matches, with or without its trailing slash; the query string is ignored. */
  shouldHandle(req: IncomingMessage): boolean {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return withoutTrailingSlash(query === -1 ? url : url.slice(0, query)) === withoutTrailingSlash(this.options.path);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroy);
    if (this.sync.draining || !this.#admission.enter()) {
      // Draining, or past the admission limits: come back later (to another node).
      rejectUpgrade(socket, 503, { 'Retry-After': String(this.#admission.retryAfterSeconds) });
      return;
    }
    this.#admit(req).then(
      (admission) => {
        this.#admission.leave();
        if (typeof admission === 'number') {
          rejectUpgrade(socket, admission);
          return;
        }
        // The 101 response and the first frames (v1's `connected`) leave in one write.
        this.#corker.cork(socket);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.#bind(ws, admission));
      },
      () => {
        this.#admission.leave();
        rejectUpgrade(socket, 500);
      },
    );
  }

  /** Runs the checks of an upgrade: an HTTP status to refuse it, or how to accept it. */
  async #admit(req: IncomingMessage): Promise<number | Admitted> {
    if (this.#closed) return 503;
    if (!this.shouldHandle(req)) return 404;
    const { origins, authenticate } = this.options;
    if (origins !== undefined && !(await origins(req.headers.origin, req))) return 403;
    const mode = requestedMode(req);
    if (mode === 'legacy' && !this.options.legacy) return 426;
    let answer: Awaited<ReturnType<NonNullable<typeof authenticate>>>;
    try {
      answer = authenticate === undefined ? undefined : await authenticate(req);
    } catch {
      return 401;
    }
    if (answer === false) return 401;
    if (this.#closed) return 503;
    if (typeof answer === 'object' && answer !== null) {
      const { expiresAt } = answer;
      // Not a time (NaN, a date string): a bug in authenticate, refused like a throw of the server.
      if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) return 500;
      return { mode, secret: answer.secret, expiresAt };
    }
    return { mode, secret: answer };
  }

  #bind(ws: WebSocket, admitted: Admitted): void {
    const socket = new WsSocket(ws, this.#corker);
    const options =
      admitted.expiresAt === undefined ? this.#acceptOptions[admitted.mode] : { protocol: admitted.mode, expiresAt: admitted.expiresAt };
    socket.bind(this.sync.accept(socket, options, admitted.secret));
    this.#heartbeat.watch(ws);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.options.server?.off('upgrade', this.#onUpgrade);
    this.#restoreRequests();
    this.#heartbeat.stop();
    for (const ws of this.wss.clients) ws.close(CloseCode.GoingAway, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** An upgrade that passed every check: its protocol mode and initial secret. */
interface Admitted {
  mode: ProtocolMode;
  secret: string | undefined;
  expiresAt?: number | undefined;
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function destroy(this: Duplex): void {
  this.destroy();
}

function requestedMode(req: IncomingMessage): ProtocolMode {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return 'legacy';
  return header.split(',').some((p) => p.trim() === PROTOCOL_V1) ? 'v1' : 'legacy';
}
