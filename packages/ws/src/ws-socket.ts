import type { Duplex } from 'node:stream';
import type { ConnectionHandle, SocketLike } from '@entity-sync/core';
import type { WebSocket } from 'ws';
import { textFrame } from './text-frame.js';
import type { TickCorker } from './tick-corker.js';

/** How long a closing peer has to answer the close frame before it is cut off. */
const CLOSE_GRACE_MS = 5_000;

const kHandle = Symbol('entity-sync.handle');

type Tagged<T> = T & { [kHandle]?: ConnectionHandle };

/**
 * Adapts one `ws` socket to the bridge's `SocketLike`. Written as a class and shared listener
 * functions (the handle rides on the socket), so an idle connection costs no closures.
 */
export class WsSocket implements SocketLike {
  /** ws's underlying net.Socket (`_socket`: undocumented, stable across ws 8). */
  readonly #raw: Duplex | undefined;
  /**
   * Whether text frames may go straight to the socket, framed once for every subscriber: no
   * extension (permessage-deflate) was negotiated, so `ws`'s sender never holds a frame back and
   * a raw write keeps the order of everything it sends.
   */
  readonly #rawText: boolean;

  constructor(
    private readonly ws: WebSocket,
    private readonly corker: TickCorker,
  ) {
    this.#raw = (ws as unknown as { _socket?: Duplex })._socket;
    this.#rawText = this.#raw !== undefined && ws.extensions === '';
  }

  send(data: string | Uint8Array): void {
    if (this.#raw !== undefined) this.corker.cork(this.#raw);
    if (this.#rawText && typeof data === 'string' && this.ws.readyState === this.ws.OPEN) {
      this.#raw!.write(textFrame(data));
      return;
    }
    this.ws.send(data, { binary: false });
  }

  /** Starts the close handshake; a peer that does not read (a slow consumer) is cut off soon. */
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    setTimeout(terminate, CLOSE_GRACE_MS, this.ws).unref();
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Routes the socket's events to `handle`. */
  bind(handle: ConnectionHandle): void {
    (this.ws as Tagged<WebSocket>)[kHandle] = handle;
    this.ws.on('message', onMessage);
    this.ws.on('close', onClose);
    this.ws.on('error', ignore); // `ws` closes the socket after an error (e.g. 1009 past maxPayload)
    if (this.#raw !== undefined) {
      (this.#raw as Tagged<Duplex>)[kHandle] = handle;
      this.#raw.on('drain', onDrain);
    }
  }
}

function onMessage(this: Tagged<WebSocket>, data: Buffer): void {
  this[kHandle]?.receive(data);
}

function onClose(this: Tagged<WebSocket>, code: number): void {
  this[kHandle]?.closed(code);
}

function onDrain(this: Tagged<Duplex>): void {
  this[kHandle]?.drained();
}

function terminate(ws: WebSocket): void {
  ws.terminate();
}

function ignore(): void {}
