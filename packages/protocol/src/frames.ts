import type { WireErrorCode } from './codes.js';
import type { DeltaOp } from './delta.js';

/** The WebSocket subprotocol that selects v1 mode. No subprotocol means legacy mode. */
export const PROTOCOL_V1 = 'entity-sync.v1';
/** Default path, the Go library's. */
export const DEFAULT_PATH = '/ws/entity-sync/';
/** The largest secret accepted, in UTF-16 code units of the JSON string (8 KiB). */
export const MAX_SECRET_LENGTH = 8 * 1024;
/** The longest string `ref`. */
export const MAX_REF_LENGTH = 128;

export type ProtocolMode = 'legacy' | 'v1';

/** Client actions, as named by the Go library. */
export const Action = { subscribe: 'subscribe', unsubscribe: 'unsubscribe', secret: 'secret' } as const;
export type Action = (typeof Action)[keyof typeof Action];

/** Server frame types (v1 only). */
export const FrameType = {
  connected: 'connected',
  data: 'data',
  delta: 'delta',
  ack: 'ack',
  error: 'error',
  message: 'message',
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** A client-chosen correlation id, echoed in the `ack` or `error` reply (v1). */
export type Ref = string | number;

/** What the server may send in v1 mode. */
export type ServerFrame =
  | { type: 'connected'; protocol: 1 }
  | { type: 'data'; entity: string; id: string; data: unknown }
  /** Only to a connection whose subscribe said `"deltas": true` (see docs/protocol.md, delta). */
  | { type: 'delta'; entity: string; id: string; base: number; fp: number; ops: DeltaOp[] }
  | { type: 'ack'; ref: Ref }
  | { type: 'error'; code: WireErrorCode; message: string; ref?: Ref; entity?: string; id?: string }
  | { type: 'message'; data: unknown };
