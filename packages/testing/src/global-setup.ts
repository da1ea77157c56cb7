import type { TestProject } from 'vitest/node';
import { startNats } from './nats-server.js';
import './provided-context.js';
import { startRedis } from './redis-server.js';

/**
 * Vitest `globalSetup` of the `integration` project: one redis-server and one nats-server per
 * run, on free loopback ports, handed to tests as `inject('redisUrl')` / `inject('natsUrl')`.
 * Tests isolate themselves with a unique subject prefix; tests that stop a server start their own.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, nats] = await Promise.allSettled([startRedis(), startNats()]);
  const stopAll = async (): Promise<void> => {
    for (const r of [redis, nats]) if (r.status === 'fulfilled') await r.value.stop();
  };
  if (redis.status === 'rejected' || nats.status === 'rejected') {
    await stopAll();
    const reason = redis.status === 'rejected' ? redis.reason : (nats as PromiseRejectedResult).reason;
    console.error(`integration setup: could not start test servers: ${String(reason)}`);
    throw reason;
  }
  project.provide('redisUrl', redis.value.url);
  project.provide('natsUrl', nats.value.url);
  return stopAll;
}
