import type { Broker, BrokerHandlers, BrokerSession } from '@entity-sync/core';
import { connect } from 'nats';
import { ReconnectBackoff } from './backoff.js';
import type { NatsConnectionLike } from './nats-connection.js';
import { NatsLink } from './nats-link.js';
import { NatsSession } from './nats-session.js';
import {
  DEFAULT_CLUSTER_PROPAGATION_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  type NatsBrokerConnectionOptions,
  type NatsBrokerOptions,
  type NatsBrokerServersOptions,
  validateOptions,
} from './options.js';

/**
 * A {@link Broker} over NATS core pub/sub.
 *
 * - `{ servers, ...connectionOptions }`: every session (one per bridge) opens its own
 *   connection, reconnects forever with a growing backoff, buffers publishes while
 *   disconnected up to `maxBufferedBytes`, and closes the connection on `close()`.
 * - `{ connection }`: sessions share your connection and never close it.
 *
 * Subscriptions resolve after a `flush()` round trip, so the server has them. Sessions report
 * `'down'` on `disconnect` and `'up'` once a `reconnect` is followed by a successful flush.
 *
 * @example
 * const sync = createEntitySync({ broker: createNatsBroker({ servers: 'nats://127.0.0.1:4222' }) });
 */
export function createNatsBroker(options: NatsBrokerOptions): Broker {
  validateOptions(options);
  const settings: Settings = {
    max: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    settleMs: options.clusterPropagationMs ?? DEFAULT_CLUSTER_PROPAGATION_MS,
  };
  if ('connection' in options) return sharedConnectionBroker(options, settings);
  return ownConnectionBroker(options, settings);
}

interface Settings {
  max: number;
  settleMs: number;
}

function ownConnectionBroker(options: NatsBrokerServersOptions, settings: Settings): Broker {
  const { maxBufferedBytes: _, clusterPropagationMs: __, ...rest } = options;
  const { reconnectMaxWait, reconnectJitter, ...natsOptions } = rest;
  const broker = {
    async connect(handlers: BrokerHandlers): Promise<BrokerSession> {
      const backoff = new ReconnectBackoff({
        minMs: natsOptions.reconnectTimeWait ?? 250,
        maxMs: reconnectMaxWait ?? 5_000,
        jitterMs: reconnectJitter ?? 250,
      });
      const connection: NatsConnectionLike = await connect({
        maxReconnectAttempts: -1,
        reconnectDelayHandler: backoff.delay,
        ...natsOptions,
      });
      const link = new NatsLink(connection, settings.max, {
        down: () => backoff.markDown(),
        up: () => backoff.markUp(),
      });
      return new NatsSession(link, handlers, settings.settleMs, async () => {
        link.dispose();
        await connection.close();
      });
    },
  };
  return broker satisfies Broker;
}

function sharedConnectionBroker(options: NatsBrokerConnectionOptions, settings: Settings): Broker {
  let link: NatsLink | undefined;
  let sessions = 0;
  const broker = {
    async connect(handlers: BrokerHandlers): Promise<BrokerSession> {
      link ??= new NatsLink(options.connection, settings.max);
      sessions++;
      return new NatsSession(link, handlers, settings.settleMs, async () => {
        if (--sessions > 0) return;
        link?.dispose();
        link = undefined;
      });
    },
  };
  return broker satisfies Broker;
}
