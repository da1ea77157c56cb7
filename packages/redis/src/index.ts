export { createRedisBroker } from './redis-broker.js';
export type {
  RedisBrokerClientOptions,
  RedisBrokerClusterOptions,
  RedisBrokerCommonOptions,
  RedisBrokerOptions,
  RedisBrokerUrlOptions,
  RedisClient,
} from './options.js';
