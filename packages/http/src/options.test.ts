import { describe, expect, it } from 'vitest';
import { resolveOptions } from './options.js';

describe('resolveOptions', () => {
  it('fills the documented defaults', () => {
    const { verify: _, ...rest } = resolveOptions({ tokens: ['t'] });
    expect(rest).toEqual({ maxBodyBytes: 1_048_576, maxKeys: 1000, bodyTimeoutMs: 10_000, retryAfterSeconds: 1, onError: undefined });
  });

  it('needs exactly one of tokens and verify', () => {
    expect(() => resolveOptions({})).toThrow(/exactly one of `tokens` and `verify`/);
    expect(() => resolveOptions(undefined)).toThrow(/exactly one/);
    expect(() => resolveOptions({ tokens: ['t'], verify: () => true })).toThrow(/exactly one/);
  });

  it('refuses bad values with INVALID_OPTIONS', () => {
    const bad = [
      { tokens: [] },
      { tokens: [''] },
      { tokens: 'token' },
      { verify: 'yes' },
      { tokens: ['t'], maxBodyBytes: 0 },
      { tokens: ['t'], maxKeys: 1.5 },
      { tokens: ['t'], bodyTimeoutMs: -1 },
      { tokens: ['t'], retryAfterSeconds: -1 },
      { tokens: ['t'], onError: 1 },
    ];
    for (const options of bad) expect(() => resolveOptions(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
