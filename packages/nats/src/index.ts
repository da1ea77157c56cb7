export { createNatsBroker } from './nats-broker.js';
export type {
  NatsConnectionLike,
  NatsMsgLike,
  NatsStatusLike,
  NatsSubscriptionLike,
} from './nats-connection.js';
export type {
  NatsBrokerCommonOptions,
  NatsBrokerConnectionOptions,
  NatsBrokerOptions,
  NatsBrokerServersOptions,
} from './options.js';
