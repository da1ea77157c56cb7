import { brokerOutageSuite, startRedis } from '@entity-sync/testing';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { createRedisBroker } from '../src/index.js';

describe('redis', () => {
  brokerOutageSuite('redis', {
    start: () => startRedis(),
    broker: (server) => createRedisBroker({ url: server.url }),
    async sharedBroker(server) {
      const [publisher, subscriber] = [new Redis(server.url), new Redis(server.url)];
      const close = async (): Promise<void> => void (await Promise.allSettled([publisher.quit(), subscriber.quit()]));
      return { broker: createRedisBroker({ publisher, subscriber }), close };
    },
  });
});
