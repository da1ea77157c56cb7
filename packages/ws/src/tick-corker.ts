import type { Duplex } from 'node:stream';

/**
 * Corks a socket on its first write in a turn of the event loop and uncorks every corked socket
 * once, right after it: the frames a burst sends to one socket leave in one write.
 */
export class TickCorker {
  #corked: Duplex[] = [];
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    const corked = this.#corked;
    this.#corked = [];
    for (const socket of corked) socket.uncork();
  };

  cork(socket: Duplex): void {
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.#corked.push(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }
}
