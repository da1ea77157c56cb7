export { createEntitySync } from './node.js';
export type { EntitySync, NotifyOptions } from './node.js';
export type { AccessFilter } from './access.js';
export type { NodeEventListener, NodeEventName, NodeEvents } from './events.js';
export { allowEveryone, allowOwner, ownRows } from './rules.js';
export type { ServerSubscribeOptions, ValueListener } from './server-subscriber.js';
export type { InferOutput, StandardSchemaV1 } from './standard-schema.js';
export type { ChangeTarget } from './targets.js';
export type { EntitySyncOptions } from './options.js';
export type {
  ChangeTargetOf,
  DefinitionOf,
  EntityMap,
  EntityNameOf,
  IsQuery,
  KeyOf,
  ParamsOf,
  SubscribeTargetOf,
  TypedEntityDefinition,
  ValueListenerOf,
  ValueOf,
} from './entity-map.js';
export type {
  AcceptOptions,
  AuthorizeContext,
  AuthorizeHandler,
  ClientId,
  ConnectionHandle,
  EntityDefinition,
  ErrorContext,
  ErrorHandler,
  FetchContext,
  FetchHandler,
  FetchScope,
  FetchValue,
  HandlerKey,
  LogEvent,
  Logger,
  LogLevel,
  PassThroughContext,
  PassThroughHandler,
  IdentifyHandler,
  QueryKey,
  SerializedJson,
  SocketLike,
  SyncStats,
  User,
  ViewContext,
  ViewHandler,
} from './types.js';
export { isBroker } from './broker.js';
export type { Broker, BrokerHandlers, BrokerSession, BrokerStatus } from './broker.js';
export { MemoryBroker } from './memory-broker.js';
export type { Latency, MemoryBrokerOptions } from './memory-broker.js';
export { EntitySyncError, ErrorCode } from './errors.js';
export type { WireErrorCode } from './errors.js';
export {
  canonicalParams,
  ENTITY_NAME_PATTERN,
  MAX_ID_BYTES,
  MAX_TAG_BYTES,
  keyProblem,
  keyString,
  keySubject,
  tagProblem,
  tagSubject,
} from './keys.js';
export type { EntityId, EntityKey, EntityName, KeyString, Params, Tag } from './keys.js';
export {
  Action,
  CloseCode,
  DEFAULT_PATH,
  FrameType,
  MAX_SECRET_LENGTH,
  PROTOCOL_V1,
  parseClientMessage,
} from './protocol.js';
export type { ClientMessage, ProtocolMode, Ref, ServerFrame } from './protocol.js';
export {
  createChangeSource,
  parseChangeSourceOptions,
  type ChangeSink,
  type ChangeSource,
  type ChangeSourceErrorContext,
  type ChangeSourceOptions,
  type ChangeSourceRole,
  type ChangeStreamDriver,
  type ChangeSourceTarget,
  type FollowedStream,
  type RowChange,
  type RowKeysFunction,
  type SourceRow,
  type SourceTables,
} from './change-source.js';
