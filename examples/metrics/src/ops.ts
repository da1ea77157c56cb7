// The operator's endpoints: `/metrics` for Prometheus and `/healthz` for load balancers and
// readiness probes. Mount them on any HTTP server (here the same one as the WebSocket).
import type { ServerResponse } from 'node:http';
import type { EntitySync } from '@entity-sync/core';
import type { Registry } from 'prom-client';

export interface Ops {
  /** Answers `/metrics` and `/healthz`; returns false for any other path. */
  handle(path: string, res: ServerResponse): Promise<boolean>;
  /** From now on `/healthz` answers 503, so the load balancer stops sending new clients. */
  drain(): void;
}

export function ops(sync: EntitySync, registry: Registry): Ops {
  let draining = false;
  return {
    async handle(path, res) {
      if (path === '/metrics') {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
        return true;
      }
      if (path === '/healthz') {
        const stats = sync.stats();
        // Up: the bus carries changes between nodes. Down: this node's clients miss other nodes'
        // changes until it is back (then every key is fetched again), so send new clients elsewhere.
        const status = draining ? 'draining' : stats.bus === 'up' ? 'ok' : 'bus down';
        res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status, stats }));
        return true;
      }
      return false;
    },
    drain() {
      draining = true;
    },
  };
}
