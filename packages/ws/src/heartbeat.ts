import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Pings every connection each interval and terminates one that has not answered the previous
 * ping, so dead peers (a laptop closed, a cable pulled) free their subscriptions.
 */
export class Heartbeat {
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly wss: WebSocketServer,
    intervalMs: number,
  ) {
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.#tick(), intervalMs);
      this.#timer.unref();
    }
  }

  watch(ws: WebSocket): void {
    if (this.#timer === undefined) return;
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    for (const ws of this.wss.clients) {
      if (this.#alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }
}
