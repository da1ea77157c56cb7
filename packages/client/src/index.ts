export { type Client, type ClientEvents, createClient, PROTOCOL } from './client.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { toKey } from './key.js';
export type {
  ClientOptions,
  ConnectionState,
  DataMeta,
  EntityKey,
  EntityMap,
  IdEntityNameOf,
  KeyOf,
  ParamsOf,
  QueryEntityNameOf,
  QuerySpec,
  ValueOf,
  EntityName,
  Listener,
  RetryOptions,
  SecretSource,
  StateDetail,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
export type { WatchOptions } from './watch.js';
