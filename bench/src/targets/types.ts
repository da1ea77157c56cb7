import type { UpdateBatch } from './store.js';

export type Impl = 'es' | 'ws' | 'sio';
export type BrokerKind = 'memory' | 'nats' | 'redis';

/** What the orchestrator passes to one server process (as JSON in argv). */
export interface ServerConfig {
  impl: Impl;
  broker: BrokerKind;
  brokerUrl?: string;
  node: number;
  padBytes: number;
  /** Bus subject / channel prefix, unique per deployment. */
  prefix: string;
}

/** One running server implementation inside a server process. */
export interface TargetServer {
  readonly port: number;
  /** Writes `batch.set` into the store, then notifies every id of `batch.notify`, in this tick. */
  apply(batch: UpdateBatch): void;
  /** Counters: fetch calls per entity, bus messages, errors. */
  stats(): Record<string, number>;
  /** Drains the node over `drainMs` (entity-sync only: `sync.drain()`). */
  drain?(drainMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Path of the WebSocket endpoint the driver connects to. */
export const ES_PATH = '/ws/entity-sync/';
export const SIO_PATH = '/socket.io/';
