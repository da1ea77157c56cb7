export { createNatsBroker } from './nats-broker.js';
export type {
  NatsBrokerCommonOptions,
  NatsBrokerConnectionOptions,
  NatsBrokerOptions,
  NatsBrokerServersOptions,
  NatsConnectionLike,
  NatsMsgLike,
  NatsStatusLike,
  NatsSubscriptionLike,
} from './options.js';
