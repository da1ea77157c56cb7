import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bearerToken, TokenSet } from './tokens.js';

const withAuth = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('bearerToken', () => {
  it('takes the token of a Bearer header, scheme in any case', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('BEARER a.b-c_d~e+f/g=')).toBe('a.b-c_d~e+f/g=');
  });

  it('finds none in other schemes or malformed headers', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearerabc', 'Bearer a b', 'Token abc']) {
      expect(bearerToken(header)).toBeUndefined();
    }
  });
});

describe('TokenSet', () => {
  const set = new TokenSet(['first-token', 'second-token']);

  it('accepts each of its tokens', () => {
    expect(set.accepts(withAuth('Bearer first-token'))).toBe(true);
    expect(set.accepts(withAuth('Bearer second-token'))).toBe(true);
  });

  it('refuses prefixes, extensions, other tokens and a missing header', () => {
    for (const header of ['Bearer first-toke', 'Bearer first-tokenx', 'Bearer third-token', 'Bearer FIRST-TOKEN', undefined]) {
      expect(set.accepts(withAuth(header))).toBe(false);
    }
  });
});
