import type { RetryOptions } from './types.js';

export const DEFAULT_MIN_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry): exponential backoff with
 * full jitter over the window `[min, min(max, min * 2^(attempt+1))]`, so that clients dropped
 * together do not come back together.
 */
export function backoffDelay(attempt: number, retry: RetryOptions = {}, random: () => number = Math.random): number {
  const min = retry.minDelayMs ?? DEFAULT_MIN_DELAY_MS;
  const max = Math.max(min, retry.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  const cap = Math.min(max, min * 2 ** Math.min(attempt + 1, 30));
  return Math.round(min + random() * (cap - min));
}
