import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const retry = { minDelayMs: 100, maxDelayMs: 1_000 };

  it('spreads each attempt over [min, min * 2^(attempt+1)] (full jitter)', () => {
    expect(backoffDelay(0, retry, () => 0)).toBe(100);
    expect(backoffDelay(0, retry, () => 1)).toBe(200);
    expect(backoffDelay(1, retry, () => 1)).toBe(400);
    expect(backoffDelay(2, retry, () => 0.5)).toBe(450);
  });

  it('never goes past maxDelayMs, even after many attempts', () => {
    expect(backoffDelay(3, retry, () => 1)).toBe(1_000);
    expect(backoffDelay(10_000, retry, () => 1)).toBe(1_000);
  });

  it('uses defaults of 500 ms to 30 s', () => {
    expect(backoffDelay(0, {}, () => 0)).toBe(500);
    expect(backoffDelay(100, {}, () => 1)).toBe(30_000);
  });

  it('stays within bounds for random jitter', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const delay = backoffDelay(attempt, retry);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
  });
});
