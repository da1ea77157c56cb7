import type { Broker, BrokerHandlers, BrokerSession, BrokerStatus } from '@entity-sync/core';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** One message a {@link BrokerProbe} received. */
export interface ProbeMessage {
  subject: string;
  payload: Uint8Array;
  text: string;
}

/**
 * A broker session that records everything it is told (messages, status changes, errors),
 * for assertions with `vi.waitFor` / `expect.poll`.
 */
export class BrokerProbe {
  readonly messages: ProbeMessage[] = [];
  readonly statuses: BrokerStatus[] = [];
  readonly errors: Error[] = [];
  /** `Date.now()` of each status change, same order as {@link statuses}. */
  readonly statusTimes: number[] = [];
  #session: BrokerSession | undefined;

  readonly handlers: BrokerHandlers = {
    message: (subject, payload) => {
      const copy = new Uint8Array(payload);
      this.messages.push({ subject, payload: copy, text: decoder.decode(copy) });
    },
    status: (status) => {
      this.statuses.push(status);
      this.statusTimes.push(Date.now());
    },
    error: (error) => void this.errors.push(error),
  };

  /** Opens a session on `broker` with this probe's handlers. */
  static async connect(broker: Broker): Promise<BrokerProbe> {
    const probe = new BrokerProbe();
    probe.#session = await broker.connect(probe.handlers);
    return probe;
  }

  get session(): BrokerSession {
    if (!this.#session) throw new Error('probe not connected');
    return this.#session;
  }

  /** Payloads received on `subject`, as text, in arrival order. */
  texts(subject: string): string[] {
    return this.messages.filter((m) => m.subject === subject).map((m) => m.text);
  }

  subscribe(subject: string): Promise<void> {
    return this.session.subscribe(subject);
  }

  unsubscribe(subject: string): Promise<void> {
    return this.session.unsubscribe(subject);
  }

  /** Publishes `text` as UTF-8 bytes. */
  publish(subject: string, text: string): Promise<void> {
    return this.session.publish(subject, encoder.encode(text));
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
