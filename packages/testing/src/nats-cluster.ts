import { randomUUID } from 'node:crypto';
import { type NatsServer, startNats } from './nats-server.js';
import { pollUntil } from './poll.js';

/** Several `nats-server`s routed to each other on loopback. */
export class NatsCluster {
  constructor(readonly servers: NatsServer[]) {}

  /** Client URLs, one per server (connect different nodes to different servers). */
  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  /** Resolves once every running server has a route to every other running server. */
  async waitForRoutes(): Promise<void> {
    const running = this.servers.filter((server) => server.running);
    const full = async (): Promise<boolean> => {
      const counts = await Promise.all(running.map((server) => server.routeCount()));
      return counts.every((count) => count >= running.length - 1);
    };
    await pollUntil(full, { what: 'nats cluster routes' });
  }

  /** Stops every server. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/**
 * Starts `size` nats-servers on free loopback ports, all routed to the first one (the others
 * find each other through gossip), and waits for a full mesh of routes.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const name = `es-${randomUUID().slice(0, 8)}`;
  const seed = await startNats({ cluster: { name } });
  const cluster = new NatsCluster([seed]);
  try {
    const routes = [seed.routeUrl!];
    const rest = Array.from({ length: size - 1 }, () => startNats({ cluster: { name, routes } }));
    const settled = await Promise.allSettled(rest);
    for (const r of settled) if (r.status === 'fulfilled') cluster.servers.push(r.value);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await cluster.waitForRoutes();
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
