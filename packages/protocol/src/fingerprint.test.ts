import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint } from './fingerprint.js';

describe('fingerprint', () => {
  it('is a safe integer and stable', () => {
    const h = fingerprint(['{"type":"data"}']);
    expect(Number.isSafeInteger(h)).toBe(true);
    expect(fingerprint(['{"type":"data"}'])).toBe(h);
  });

  it('tells apart values that differ in one character, or in how they split into frames', () => {
    expect(fingerprint(['{"v":1}'])).not.toBe(fingerprint(['{"v":2}']));
    expect(fingerprint(['ab', 'c'])).not.toBe(fingerprint(['a', 'bc']));
    expect(fingerprint(['a'])).not.toBe(fingerprint(['a', '']));
  });

  it('gives distinct values distinct fingerprints (no collision among random strings)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 200, maxLength: 200 }), (values) => {
        expect(new Set(values.map((v) => fingerprint([v]))).size).toBe(values.length);
      }),
      { numRuns: 50 },
    );
  });
});
