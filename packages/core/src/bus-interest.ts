import type { BrokerSession } from './broker.js';

const IDLE: Promise<void> = Promise.resolve();

interface Interest {
  /** Local holders: subscriptions that want the subject. */
  count: number;
  subscribed: boolean;
  /** Serializes subscribe/unsubscribe calls for this subject. */
  chain: Promise<void>;
}

/**
 * Interest-based routing: the node subscribes to a key's subject when its first local holder
 * arrives and unsubscribes when the last leaves. Calls to the broker are serialized per
 * subject, so a quick leave-and-return can never end unsubscribed while wanted.
 */
export class BusInterest {
  readonly #interests = new Map<string, Interest>();

  constructor(private readonly session: () => Promise<BrokerSession>) {}

  /** Number of subjects the broker has confirmed. */
  get subscribedCount(): number {
    let count = 0;
    for (const interest of this.#interests.values()) if (interest.subscribed) count++;
    return count;
  }

  /**
   * Adds a holder. Returns `undefined` when the subscription is already confirmed and nothing
   * is pending, else a promise that resolves once the broker confirmed it and rejects if that
   * failed (the caller must then still call {@link release}).
   */
  acquire(subject: string): Promise<void> | undefined {
    let interest = this.#interests.get(subject);
    if (interest === undefined) {
      interest = { count: 0, subscribed: false, chain: IDLE };
      this.#interests.set(subject, interest);
    }
    interest.count++;
    if (interest.subscribed && interest.chain === IDLE) return undefined;
    const it = interest;
    return this.#enqueue(subject, it, async () => {
      if (it.count > 0 && !it.subscribed) {
        await (await this.session()).subscribe(subject);
        it.subscribed = true;
      }
    });
  }

  /** Removes a holder; the last one out unsubscribes. */
  release(subject: string): void {
    const interest = this.#interests.get(subject);
    if (interest === undefined) return;
    interest.count--;
    if (interest.count > 0) return;
    this.#enqueue(subject, interest, async () => {
      if (interest.count === 0 && interest.subscribed) {
        interest.subscribed = false;
        await (await this.session()).unsubscribe(subject);
      }
    }).catch(() => {
      // The session reports its own failures; a failed unsubscribe only costs stray messages.
    });
  }

  #enqueue(subject: string, interest: Interest, step: () => Promise<void>): Promise<void> {
    // Nothing pending: start at once rather than a turn later.
    const done = interest.chain === IDLE ? step() : interest.chain.then(step);
    const settled: Promise<void> = done.then(
      () => this.#settle(subject, interest, settled),
      () => this.#settle(subject, interest, settled),
    );
    interest.chain = settled;
    return done;
  }

  /** After a step: drop an unused interest, or let an idle one hold no promise. */
  #settle(subject: string, interest: Interest, step: Promise<void>): void {
    if (interest.count === 0 && !interest.subscribed && this.#interests.get(subject) === interest) {
      this.#interests.delete(subject);
    } else if (interest.chain === step) {
      interest.chain = IDLE;
    }
  }
}
