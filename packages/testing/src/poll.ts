/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** @default 10000 */
  timeoutMs?: number;
  /** @default 25 */
  intervalMs?: number;
  /** Used in the timeout message. */
  what: string;
  /** Stops polling (with an error) when aborted. */
  signal?: AbortSignal;
}

/**
 * Calls `check` until it returns a value other than `undefined`/`false`, or throws on timeout
 * with the last error as cause. Used for server readiness, never as a sleep in tests.
 */
export async function pollUntil<T>(check: () => Promise<T | undefined | false> | T | undefined | false, options: PollOptions): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
