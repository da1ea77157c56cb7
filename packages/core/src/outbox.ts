import type { KeyString } from './keys.js';
import type { SocketLike } from './types.js';

export type Frame = string | Uint8Array;

/** Backpressure limits of a connection (design section 4): the node options of the same names. */
export interface OutboxLimits {
  readonly highWaterMark: number;
  readonly maxBufferedBytes: number;
  readonly maxSlowMs: number;
}

/**
 * One connection's outgoing frames. While the socket keeps up, frames go straight to it. Once
 * it holds more than `highWaterMark` bytes, frames wait here, in order, and a new value for a
 * key replaces that key's waiting value (conflation: a slow client gets the latest state, not a
 * backlog), so memory is bounded by the number of keys, not the update rate. `drain()` sends
 * what waits. Past `maxBufferedBytes` or `maxSlowMs`, the owner is told (and closes the
 * connection with 4008).
 */
export class Outbox {
  /** Waiting frames by slot: a key for data, a unique slot for every other frame. */
  readonly #waiting = new Map<string, readonly Frame[]>();
  #waitingBytes = 0;
  #slowSince = 0;
  #nextSlot = 0;

  constructor(
    private readonly socket: SocketLike,
    private readonly limits: OutboxLimits,
    private readonly owner: { overflowed(): void },
    private readonly counters: { framesSent: number; bytesSent: number; conflated: number },
  ) {}

  /**
   * Sends `frames`: the frames of one push for `key`, which while congested replace the key's
   * older ones, or (no key) one frame that is not a value (ack, error), never conflated.
   */
  send(key: KeyString | undefined, frames: readonly Frame[]): void {
    if (this.#waiting.size === 0 && !this.#congested()) {
      this.#write(frames);
    } else {
      this.#wait(key ?? `\0${++this.#nextSlot}`, frames);
    }
  }

  /** Nothing waits and the socket keeps up: a frame sent now goes out at once. */
  get idle(): boolean {
    return this.#waiting.size === 0 && !this.#congested();
  }

  /**
   * Forgets the values waiting (not acks or errors): after a secret change they were fetched
   * with a secret the connection no longer has.
   */
  dropValues(): void {
    for (const [slot, frames] of this.#waiting) {
      if (slot.startsWith('\0')) continue;
      this.#waiting.delete(slot);
      this.#waitingBytes -= size(frames);
    }
  }

  /** The socket wrote out its buffer: send what waits, as far as the high-water mark allows. */
  drain(): void {
    for (const [slot, frames] of this.#waiting) {
      if (this.#congested()) return;
      this.#waiting.delete(slot);
      this.#waitingBytes -= size(frames);
      this.#write(frames);
    }
    this.#slowSince = 0;
  }

  #write(frames: readonly Frame[]): void {
    for (const frame of frames) this.socket.send(frame);
    this.counters.framesSent += frames.length;
    this.counters.bytesSent += size(frames);
  }

  #congested(): boolean {
    return congested(this.socket, this.limits);
  }

  #wait(slot: string, frames: readonly Frame[]): void {
    const waiting = this.#waiting;
    const previous = waiting.get(slot);
    if (previous !== undefined) {
      this.#waitingBytes -= size(previous);
      this.counters.conflated++;
    }
    waiting.set(slot, frames); // a replaced key keeps its place in line
    this.#waitingBytes += size(frames);
    const now = Date.now();
    if (this.#slowSince === 0) this.#slowSince = now;
    const buffered = (this.socket.bufferedAmount ?? 0) + this.#waitingBytes;
    const { maxBufferedBytes, maxSlowMs } = this.limits;
    if (buffered > maxBufferedBytes || now - this.#slowSince > maxSlowMs) {
      waiting.clear();
      this.#waitingBytes = 0;
      this.owner.overflowed();
    }
  }
}

/** Whether `socket` holds more than the high-water mark: frames must wait in an outbox. */
export function congested(socket: SocketLike, limits: OutboxLimits): boolean {
  return (socket.bufferedAmount ?? 0) > limits.highWaterMark;
}

function size(frames: readonly Frame[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += typeof frame === 'string' ? frame.length : frame.byteLength;
  return bytes;
}
