import type { Broker } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';

/** `BROKER=nats|redis` (default `nats`), with `NATS_URL` / `REDIS_URL`. */
export function brokerFromEnv(env: NodeJS.ProcessEnv = process.env): { broker: Broker; describe: string } {
  const kind = env['BROKER'] ?? 'nats';
  if (kind === 'nats') {
    const servers = env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
    return { broker: createNatsBroker({ servers }), describe: `NATS at ${servers}` };
  }
  if (kind === 'redis') {
    const url = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    return { broker: createRedisBroker({ url }), describe: `Redis at ${url}` };
  }
  throw new Error(`BROKER must be "nats" or "redis", not ${JSON.stringify(kind)}`);
}

/** A port from the environment, or `fallback`. */
export function portFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a TCP port, not ${text}`);
  return port;
}

/** Reads a request body of at most 16 KiB. */
export async function readBody(req: AsyncIterable<unknown>): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 16 * 1024) throw new Error('body too large');
  }
  return body;
}

/** One row of the example's database. */
export interface Item {
  id: string;
  title: string;
  done: boolean;
  /** Bumped on every edit. */
  version: number;
}
