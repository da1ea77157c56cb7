import { randomUUID } from 'node:crypto';
import type { BrokerKind } from './types.js';

/**
 * The hand-written servers' bus: one subject / channel per key, only ids travel. What a
 * developer writes in an afternoon with the client library directly.
 */
export interface KeyBus {
  /** Resolves once the broker confirmed the subscription. */
  subscribe(id: string): Promise<void>;
  unsubscribe(id: string): void;
  publish(id: string): void;
  close(): Promise<void>;
  /** Messages received from other nodes. */
  readonly received: number;
}

export type OnKey = (id: string) => void;

/** Single node: nothing to publish, nothing to receive. */
class NoBus implements KeyBus {
  readonly received = 0;
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  unsubscribe(): void {}
  publish(): void {}
  async close(): Promise<void> {}
}

async function natsBus(url: string, prefix: string, onKey: OnKey): Promise<KeyBus> {
  const { connect } = await import('nats');
  // noEcho: NATS does not send a node its own publishes.
  const nc = await connect({ servers: url, noEcho: true });
  const subs = new Map<string, { unsubscribe(): void }>();
  const empty = new Uint8Array(0);
  const bus = {
    received: 0,
    async subscribe(id: string) {
      if (subs.has(id)) return;
      subs.set(id, nc.subscribe(`${prefix}.${id}`, { callback: () => (bus.received++, onKey(id)) }));
      await nc.flush();
    },
    unsubscribe(id: string) {
      subs.get(id)?.unsubscribe();
      subs.delete(id);
    },
    publish(id: string) {
      nc.publish(`${prefix}.${id}`, empty);
    },
    async close() {
      await nc.close();
    },
  };
  return bus;
}

async function redisBus(url: string, prefix: string, onKey: OnKey): Promise<KeyBus> {
  const { Redis } = await import('ioredis');
  const pub = new Redis(url);
  const sub = new Redis(url);
  await Promise.all([pub, sub].map((c) => new Promise((resolve) => c.once('ready', resolve))));
  const origin = randomUUID();
  const from = prefix.length + 1;
  const bus = {
    received: 0,
    async subscribe(id: string) {
      await sub.subscribe(`${prefix}.${id}`);
    },
    unsubscribe(id: string) {
      void sub.unsubscribe(`${prefix}.${id}`);
    },
    publish(id: string) {
      void pub.publish(`${prefix}.${id}`, origin);
    },
    async close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
  sub.on('message', (channel: string, message: string) => {
    if (message === origin) return;
    bus.received++;
    onKey(channel.slice(from));
  });
  return bus;
}

export function createKeyBus(kind: BrokerKind, url: string | undefined, prefix: string, onKey: OnKey): Promise<KeyBus> {
  if (kind === 'nats') return natsBus(url ?? '', prefix, onKey);
  if (kind === 'redis') return redisBus(url ?? '', prefix, onKey);
  return Promise.resolve(new NoBus());
}
