import type { BrokerKind, Impl } from './types.js';

/** One column of the comparison: an implementation on a broker with a number of node processes. */
export interface TargetSpec {
  id: string;
  label: string;
  impl: Impl;
  broker: BrokerKind;
  nodes: number;
  /** The hand-written target this one is compared with (same broker). */
  baseline: string;
}

export const TARGETS: readonly TargetSpec[] = [
  { id: 'es-memory', label: 'entity-sync, memory, 1 node', impl: 'es', broker: 'memory', nodes: 1, baseline: 'ws-memory' },
  { id: 'es-nats', label: 'entity-sync, NATS, 2 nodes', impl: 'es', broker: 'nats', nodes: 2, baseline: 'ws-nats' },
  { id: 'es-redis', label: 'entity-sync, Redis, 2 nodes', impl: 'es', broker: 'redis', nodes: 2, baseline: 'ws-redis' },
  { id: 'ws-memory', label: 'hand-written ws, 1 node', impl: 'ws', broker: 'memory', nodes: 1, baseline: 'ws-memory' },
  { id: 'ws-nats', label: 'hand-written ws, NATS, 2 nodes', impl: 'ws', broker: 'nats', nodes: 2, baseline: 'ws-nats' },
  { id: 'ws-redis', label: 'hand-written ws, Redis, 2 nodes', impl: 'ws', broker: 'redis', nodes: 2, baseline: 'ws-redis' },
  { id: 'sio-memory', label: 'Socket.IO 4, 1 node', impl: 'sio', broker: 'memory', nodes: 1, baseline: 'ws-memory' },
  { id: 'sio-redis', label: 'Socket.IO 4 + redis-adapter, 2 nodes', impl: 'sio', broker: 'redis', nodes: 2, baseline: 'ws-redis' },
];

export function targetById(id: string): TargetSpec {
  const target = TARGETS.find((t) => t.id === id);
  if (!target) throw new Error(`unknown target ${id}; known: ${TARGETS.map((t) => t.id).join(', ')}`);
  return target;
}
