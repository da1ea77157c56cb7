/** How the test configures one node process (env var `ES_NODE`, JSON). */
export interface NodeConfig {
  broker: 'nats' | 'redis' | 'redis-cluster';
  /** Broker server URLs (a NATS node gets its servers in this order). */
  urls: string[];
  prefix: string;
  /** The shared fake database: `GET <storeUrl>/<id>` returns the current value. */
  storeUrl: string;
  /**
   * Revocation tests (storms/revocation.test.ts): `identify` makes secret `user.x` user `user`,
   * and entity `guarded` is refused to whoever the test denied (see `AccessRequest`).
   */
  access?: boolean;
}

/** Who a `guarded` key is refused to: `{ secret }` or `{ userId }`, and which id. */
export type Denial = { secret: string; id: string } | { userId: string; id: string };

/** Test -> node, for the revocation tests. */
export type AccessRequest =
  | { type: 'deny'; seq: number; denial: Denial }
  | { type: 'reauthorize'; seq: number; filter: AccessFilter }
  | { type: 'revoke'; seq: number; filter: AccessFilter; code?: 4401 | 4403 };

export type AccessFilter = { secret: string } | { userId: string } | { all: true };

/** Test -> node, over IPC. */
export type NodeRequest = { type: 'notify'; seq: number; ids: string[]; entity?: string } | { type: 'stats'; seq: number } | AccessRequest;

/** Node -> test, over IPC. */
export type NodeReply =
  | { type: 'ready'; port: number }
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  | { type: 'stats'; seq: number; stats: Record<string, unknown> };
