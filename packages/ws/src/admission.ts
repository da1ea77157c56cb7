/** Limits on new connections (see `AttachOptions.admission`). */
export interface AdmissionOptions {
  /** Upgrades accepted per second, on average. @default 1000 */
  upgradesPerSecond?: number;
  /** Upgrades accepted at once after a quiet spell (the token bucket's size). @default 2000 */
  burst?: number;
  /** Upgrades being checked (origin, authenticate) at once; more are refused. @default 1000 */
  maxPendingHandshakes?: number;
  /** The `Retry-After` (seconds) sent with a 503. @default 1 */
  retryAfterSeconds?: number;
}

/**
 * Admission control for upgrades: a token bucket bounds the rate, a counter bounds the
 * handshakes in progress. Past either an upgrade is refused with 503 and `Retry-After`, so a
 * reconnect storm queues at the clients instead of taking the latency of established
 * connections.
 */
export class Admission {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxPending: number;
  readonly retryAfterSeconds: number;
  #tokens: number;
  #countedAt = Date.now();
  #pending = 0;
  refused = 0;

  constructor(options: AdmissionOptions = {}) {
    this.#rate = options.upgradesPerSecond ?? 1_000;
    this.#burst = options.burst ?? 2_000;
    this.#maxPending = options.maxPendingHandshakes ?? 1_000;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.#tokens = this.#burst;
  }

  /** Takes a place for one handshake; false when over a limit (then call nothing else). */
  enter(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#countedAt) * this.#rate) / 1000);
    this.#countedAt = now;
    if (this.#tokens < 1 || this.#pending >= this.#maxPending) {
      this.refused++;
      return false;
    }
    this.#tokens--;
    this.#pending++;
    return true;
  }

  /** The handshake entered with {@link enter} is over (accepted or refused). */
  leave(): void {
    this.#pending--;
  }
}
