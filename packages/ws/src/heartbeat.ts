import type { WebSocket, WebSocketServer } from 'ws';

const kAlive = Symbol('entity-sync.alive');

type Watched = WebSocket & { [kAlive]?: boolean };

/**
 * Pings every connection each interval and terminates one that has not answered the previous
 * ping, so dead peers (a laptop closed, a cable pulled) free their subscriptions.
 */
export class Heartbeat {
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
    (ws as Watched)[kAlive] = true;
    ws.on('pong', onPong);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    for (const ws of this.wss.clients as Set<Watched>) {
      if (ws[kAlive] === false) {
        ws.terminate();
        continue;
      }
      ws[kAlive] = false;
      ws.ping();
    }
  }
}

function onPong(this: Watched): void {
  this[kAlive] = true;
}
