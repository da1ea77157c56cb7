import type { IncomingMessage } from 'node:http';
import type { EntitySyncError } from '@entity-sync/core';
import type { NotifyErrorHandler } from './options.js';

/**
 * Where failures behind a 500 or 503 go: `onError` when given; otherwise each code once through
 * `process.emitWarning`, so an operator hears of a broken endpoint from the process, not from
 * producers.
 */
export class Reporter {
  readonly #warned = new Set<string>();

  constructor(private readonly onError: NotifyErrorHandler | undefined) {}

  report(error: EntitySyncError, req: IncomingMessage): void {
    if (this.onError === undefined) {
      this.#warnOnce(error);
      return;
    }
    try {
      this.onError(error, { req });
    } catch {
      // A throwing onError must not take the endpoint down.
    }
  }

  #warnOnce(error: EntitySyncError): void {
    if (this.#warned.has(error.code)) return;
    this.#warned.add(error.code);
    process.emitWarning(`@entity-sync/http: ${error.message} (further ${error.code} errors are not reported)`, {
      type: 'EntitySyncWarning',
      code: error.code,
    });
  }
}
