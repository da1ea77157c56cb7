import type { ClientId, FetchContext } from './types.js';

/**
 * The context of one fetch handler call. Its abort signal is made only if the handler asks
 * for it, since most handlers never do and a fetch runs for every change.
 */
export class FetchCall implements FetchContext {
  readonly values: unknown[] = [];
  readonly clientId?: ClientId;
  #controller: AbortController | undefined;
  #finished = false;

  constructor(
    readonly secret: string,
    clientId: ClientId | undefined,
  ) {
    if (clientId !== undefined) this.clientId = clientId;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#finished) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  send(value: unknown): void {
    if (!this.#finished && value !== undefined) this.values.push(value);
  }

  /** The call is over (settled, timed out or the bridge closed): later sends are ignored. */
  finish(): void {
    this.#finished = true;
    this.#controller?.abort();
  }
}
