import { freePort } from './free-port.js';
import { pollUntil } from './poll.js';
import { redisCommand } from './resp.js';
import { type RedisServer, startRedis } from './redis-server.js';

const SLOTS = 16384;

/** A Redis Cluster of masters only (no replicas), every node on 127.0.0.1. */
export class RedisCluster {
  constructor(readonly servers: RedisServer[]) {}

  /** Startup nodes for ioredis `new Cluster(cluster.nodes)`. */
  get nodes(): { host: string; port: number }[] {
    return this.servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
  }

  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  /** Stops every node. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

async function startClusterNode(): Promise<[RedisServer, number]> {
  const busPort = await freePort();
  const server = await startRedis({
    args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort)].concat([
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
    ]),
  });
  return [server, busPort];
}

async function clusterReady(servers: RedisServer[]): Promise<boolean> {
  for (const server of servers) {
    const info = String(await redisCommand(server.port, 'CLUSTER', 'INFO'));
    if (!info.includes('cluster_state:ok')) return false;
    if (!info.includes(`cluster_known_nodes:${servers.length}`)) return false;
  }
  return true;
}

/**
 * Starts `masters` redis-servers in cluster mode on free loopback ports, splits the 16384 slots
 * evenly, joins them with `CLUSTER MEET` and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const started = await Promise.allSettled(Array.from({ length: masters }, startClusterNode));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const cluster = new RedisCluster(nodes.map(([server]) => server));
  try {
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, [server]] of nodes.entries()) {
      const first = Math.floor((SLOTS * i) / masters);
      const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
      await redisCommand(server.port, 'CLUSTER', 'ADDSLOTSRANGE', first, last);
    }
    const [seed] = cluster.servers;
    for (const [server, busPort] of nodes.slice(1)) {
      await redisCommand(seed!.port, 'CLUSTER', 'MEET', '127.0.0.1', server.port, busPort);
    }
    await pollUntil(() => clusterReady(cluster.servers), { what: 'redis cluster state ok' });
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
