import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Checks `Authorization: Bearer <token>` against a fixed set of tokens. Every comparison is
 * between SHA-256 digests with `timingSafeEqual`, and every token is compared on every request,
 * so neither the time taken nor an early exit tells a caller how close a guess was, nor how long
 * the tokens are.
 */
export class TokenSet {
  readonly #digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map(digest);
  }

  /** `true` when the request carries one of the tokens. */
  accepts(req: IncomingMessage): boolean {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let matched = false;
    for (const known of this.#digests) matched = timingSafeEqual(candidate, known) || matched;
    return matched;
  }
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
