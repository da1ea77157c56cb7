/**
 * The entity-sync wire protocol, shared by the server (`@entity-sync/core`) and the client
 * (`@entity-sync/client`): frame types, error and close codes, key rules. No dependencies, safe
 * in browsers. docs/protocol.md is the contract.
 */
export { CLOSE_RETRY, CloseCode, type CloseRetry, HELD_CODES, WireErrorCode } from './codes.js';
export {
  Action,
  DEFAULT_PATH,
  FrameType,
  MAX_REF_LENGTH,
  MAX_SECRET_LENGTH,
  PROTOCOL_V1,
  type ProtocolMode,
  type Ref,
  type ServerFrame,
} from './frames.js';
export { applyDelta, type DeltaOp, type DeltaPathStep, diffJson } from './delta.js';
export { diffJsonText } from './delta-text.js';
export type {
  EntityMap,
  EntityNameOf,
  IdEntityNameOf,
  IsQuery,
  IsUntypedMap,
  KeyOf,
  ParamsOf,
  QueryEntityNameOf,
  QuerySpec,
  ValueOf,
} from './entity-map.js';
export { fingerprint, valueFingerprint } from './fingerprint.js';
export { canonicalParams, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, type Params, paramsProblem } from './params.js';
export {
  ENTITY_NAME_PATTERN,
  type EntityId,
  type EntityKey,
  type EntityName,
  type KeyString,
  keyProblem,
  keyString,
  MAX_ID_BYTES,
  parseKeyString,
} from './keys.js';
