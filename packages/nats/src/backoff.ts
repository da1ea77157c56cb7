/** Settings of {@link ReconnectBackoff}. */
export interface BackoffOptions {
  /** Shortest wait between reconnect rounds, in ms. */
  minMs: number;
  /** Longest wait between reconnect rounds, in ms. */
  maxMs: number;
  /** Random extra wait of up to this many ms, so nodes do not reconnect in lock step. */
  jitterMs: number;
}

/**
 * Reconnect delay that grows with the length of the outage: a quarter of the time spent
 * disconnected, between `minMs` and `maxMs`, plus jitter. Short blips reconnect fast; a long
 * outage does not hammer the servers. Used as the `nats` `reconnectDelayHandler`.
 */
export class ReconnectBackoff {
  #downSince: number | undefined;

  constructor(private readonly options: BackoffOptions) {}

  markDown(): void {
    this.#downSince ??= Date.now();
  }

  markUp(): void {
    this.#downSince = undefined;
  }

  /** The next wait, in ms. */
  delay = (): number => {
    const { minMs, maxMs, jitterMs } = this.options;
    const elapsed = this.#downSince === undefined ? 0 : Date.now() - this.#downSince;
    const base = Math.min(maxMs, Math.max(minMs, elapsed / 4));
    return Math.round(base + Math.random() * jitterMs);
  };
}
