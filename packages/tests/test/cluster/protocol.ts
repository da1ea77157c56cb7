/** How the test configures one node process (env var `ES_NODE`, JSON). */
export interface NodeConfig {
  broker: 'nats' | 'redis' | 'redis-cluster';
  /** Broker server URLs (a NATS node gets its servers in this order). */
  urls: string[];
  prefix: string;
  /** The shared fake database: `GET <storeUrl>/<id>` returns the current value. */
  storeUrl: string;
}

/** Test -> node, over IPC. */
export type NodeRequest = { type: 'notify'; seq: number; ids: string[]; entity?: string } | { type: 'stats'; seq: number };

/** Node -> test, over IPC. */
export type NodeReply =
  | { type: 'ready'; port: number }
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  | { type: 'stats'; seq: number; stats: Record<string, unknown> };
