import { createHash } from 'node:crypto';

/**
 * Which connections a `reauthorize` or `revoke` applies to, on every node: those with a given
 * secret, those of a given user (what `identify` returned), or all.
 */
export type AccessFilter = { secret: string } | { userId: string } | { all: true };

/** The filter as it travels on the bus: a secret never does, only its SHA-256. */
export type WireAccessFilter = { secretHash: string } | { userId: string } | { all: true };

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function toWireFilter(filter: AccessFilter): WireAccessFilter {
  if ('secret' in filter) return { secretHash: hashSecret(filter.secret) };
  return filter;
}

/** Returns why `filter` is not an access filter, or `undefined`. */
export function filterProblem(filter: unknown): string | undefined {
  const f = filter as Record<string, unknown> | null;
  if (typeof f !== 'object' || f === null) return 'a filter is { secret }, { userId } or { all: true }';
  const fields = ['secret', 'userId', 'all', 'secretHash'].filter((name) => f[name] !== undefined);
  if (fields.length !== 1) return 'a filter names exactly one of secret, userId, all';
  if (f.all !== undefined && f.all !== true) return '`all` must be true';
  for (const name of ['secret', 'userId', 'secretHash']) {
    if (f[name] !== undefined && typeof f[name] !== 'string') return `\`${name}\` must be a string`;
  }
  return undefined;
}

/** Whether a connection with `secret` and `userId` matches `filter`. */
export function matches(filter: WireAccessFilter, secret: string, userId: string | undefined): boolean {
  if ('all' in filter) return true;
  if ('userId' in filter) return userId === filter.userId;
  return hashSecret(secret) === filter.secretHash;
}
