import type { BrokerSession } from './broker.js';
import { EntitySyncError } from './errors.js';

export interface PublisherOptions {
  /** How long a publish may wait for the broker (or, while it is down, in the buffer). */
  timeoutMs: number;
  /** Publishes held while the broker is down; past it a publish fails at once. */
  maxBuffered: number;
}

/** Where publishes go: the open session while the broker is up, `undefined` while it is down. */
export type SessionWhenUp = () => BrokerSession | undefined;

/** One message on its way to the broker, and the promise its publisher awaits. */
class Outgoing {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: EntitySyncError) => void;
  settled = false;
  /** Set while it waits in the buffer for the broker to come back. */
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly subject: string,
    readonly payload: Uint8Array,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve();
  }

  fail(error: EntitySyncError): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

/**
 * The node's outgoing side of the bus, and the only publish buffer of the library (brokers
 * hold none): publishes of one subject in the same turn of the event loop go out as one message
 * (after all of them, so it follows every write made before any of those notifies); each turn's
 * batch shares one deadline of `timeoutMs`; while the broker is down, publishes wait in a bounded
 * buffer for at most `timeoutMs` and go out when it is back.
 */
export class Publisher {
  published = 0;
  readonly #buffer = new Set<Outgoing>();
  #batch: Map<string, Outgoing> | undefined;

  constructor(
    private readonly options: PublisherOptions,
    private readonly session: SessionWhenUp,
  ) {}

  get buffered(): number {
    return this.#buffer.size;
  }

  /** Resolves when the broker accepted the message; rejects with `PUBLISH_FAILED` when it cannot. */
  publish(subject: string, payload: Uint8Array): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      batch = this.#batch = new Map();
      queueMicrotask(this.#flush);
    }
    let message = batch.get(subject);
    if (message === undefined) batch.set(subject, (message = new Outgoing(subject, payload)));
    return message.promise;
  }

  readonly #flush = (): void => {
    const batch = this.#batch;
    this.#batch = undefined;
    if (batch !== undefined) this.#send([...batch.values()]);
  };

  #send(messages: readonly Outgoing[]): void {
    const session = this.session();
    if (session === undefined) {
      for (const message of messages) this.#hold(message);
      return;
    }
    let pending = messages.length;
    const deadline = setTimeout(() => {
      for (const message of messages) {
        // One the broker refused while going down waits in the buffer, on its own deadline.
        if (message.timer === undefined)
          message.fail(publishError(`broker did not accept the publish within ${this.options.timeoutMs} ms`));
      }
    }, this.options.timeoutMs);
    const settled = (): void => {
      if (--pending === 0) clearTimeout(deadline);
    };
    for (const message of messages) {
      const accepted = (): void => {
        if (!message.settled) this.published++;
        message.succeed();
        settled();
      };
      const refused = (cause: unknown): void => {
        // The broker went down under it: keep it for the recovery, as if sent while down.
        if (this.session() === undefined && !message.settled) this.#hold(message);
        else message.fail(cause instanceof EntitySyncError ? cause : publishError('broker refused the publish', cause));
        settled();
      };
      try {
        session.publish(message.subject, message.payload).then(accepted, refused);
      } catch (cause) {
        refused(cause);
      }
    }
  }

  #hold(message: Outgoing): void {
    if (this.#buffer.size >= this.options.maxBuffered) {
      message.fail(publishError(`bus is down and ${this.options.maxBuffered} publishes are already waiting`));
      return;
    }
    this.#buffer.add(message);
    message.timer = setTimeout(() => {
      this.#buffer.delete(message);
      message.fail(publishError(`bus stayed down for ${this.options.timeoutMs} ms`));
    }, this.options.timeoutMs);
  }

  /** The broker is back: what waited goes out now. */
  recovered(): void {
    const held = [...this.#buffer];
    this.#buffer.clear();
    for (const message of held) {
      clearTimeout(message.timer);
      message.timer = undefined;
    }
    if (held.length > 0) this.#send(held);
  }

  /** Fails what waits in the buffer. */
  close(): void {
    for (const message of this.#buffer) {
      clearTimeout(message.timer);
      message.fail(new EntitySyncError('CLOSED', 'bridge closed before the bus came back'));
    }
    this.#buffer.clear();
  }
}

function publishError(message: string, cause?: unknown): EntitySyncError {
  return new EntitySyncError('PUBLISH_FAILED', message, cause === undefined ? undefined : { cause });
}
