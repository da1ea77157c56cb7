import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Broker, createEntitySync, type EntityKey, type FetchScope, MemoryBroker } from '@entity-sync/core';
import { attachWebSocket } from '@entity-sync/ws';
import { sleep } from '../clock.js';
import { Store, type UpdateBatch } from './store.js';
import { ES_PATH, type ServerConfig, type TargetServer } from './types.js';

/** Entity types the scenarios subscribe to; all read the same rows. */
const ENTITIES: Record<string, { scope: FetchScope; delayMs: number }> = {
  items: { scope: 'shared', delayMs: 0 },
  secretItems: { scope: 'secret', delayMs: 0 },
  clientItems: { scope: 'client', delayMs: 0 },
  slowItems: { scope: 'shared', delayMs: 20 },
};

async function makeBroker(config: ServerConfig): Promise<Broker> {
  if (config.broker === 'memory') return new MemoryBroker();
  if (config.broker === 'nats') {
    const { createNatsBroker } = await import('@entity-sync/nats');
    return createNatsBroker({ servers: config.brokerUrl ?? '' });
  }
  const { createRedisBroker } = await import('@entity-sync/redis');
  return createRedisBroker({ url: config.brokerUrl ?? '' });
}

/** With BENCH_PROBE=1, the seq every fetch returned per id, to tell a lost push from a stale read. */
const fetched = new Map<string, number[]>();
const probing = process.env['BENCH_PROBE'] === '1';

function probe<T extends { seq: number }>(id: string, value: T): T {
  if (probing) fetched.set(id, [...(fetched.get(id) ?? []), value.seq]);
  return value;
}

export function fetchedSeqs(id: string): number[] {
  return fetched.get(id) ?? [];
}

/** entity-sync as an application would run it: `createEntitySync` + `attachWebSocket`. */
export async function startEntitySync(config: ServerConfig): Promise<TargetServer> {
  const store = new Store('x'.repeat(config.padBytes));
  const counters: Record<string, number> = { errors: 0, notifyRejected: 0 };
  const sync = createEntitySync({
    broker: await makeBroker(config),
    prefix: config.prefix,
    onError: () => void counters.errors!++,
  });
  for (const [name, { scope, delayMs }] of Object.entries(ENTITIES)) {
    counters[`fetch.${name}`] = 0;
    sync.registerEntity(name, {
      scope,
      fetch:
        delayMs === 0
          ? (key) => (counters[`fetch.${name}`]!++, probe(key.id, store.get(key.id)))
          : async (key) => {
              counters[`fetch.${name}`]!++;
              await sleep(delayMs);
              return store.get(key.id);
            },
    });
  }
  // The views scenario: one shared fetch, shaped per secret (an audience per user of the scenario).
  counters['fetch.viewItems'] = 0;
  counters['view.viewItems'] = 0;
  sync.registerEntity('viewItems', {
    viewBy: 'secret',
    fetch: (key) => (counters['fetch.viewItems']!++, store.get(key.id)),
    view: (value, ctx) => (counters['view.viewItems']!++, { ...(value as object), viewer: ctx.secret }),
  });
  await sync.ready();
  const http = createServer();
  const transport = attachWebSocket(sync, { server: http, path: ES_PATH });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    apply(batch: UpdateBatch) {
      for (const item of batch.set) store.set(item);
      for (const id of batch.notify) {
        const key: EntityKey = { entity: batch.entity, id };
        sync.notifyAllOfChange(key).catch(() => void counters.notifyRejected!++);
      }
    },
    stats() {
      const s = sync.stats();
      return {
        ...counters,
        busReceived: s.busMessagesReceived,
        busPublished: s.busMessagesPublished,
        busSubscriptions: s.busSubscriptions,
        encodings: s.encodings,
      };
    },
    drain: (drainMs) => sync.drain({ drainMs }),
    async close() {
      await transport.close();
      await sync.close();
      http.close();
    },
  };
}
