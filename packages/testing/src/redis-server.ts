import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { pollUntil } from './poll.js';
import { redisCommand } from './resp.js';
import { makeTempDir, ServerProcess } from './server-process.js';
import { TestServer } from './test-server.js';

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Client port. @default a free port */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. @default [] */
  args?: string[];
}

/** A `redis-server` on 127.0.0.1 with no persistence. */
export class RedisServer extends TestServer {
  private constructor(
    process: ServerProcess,
    readonly port: number,
    private readonly args: string[],
  ) {
    super(process);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** @internal */
  static async create(options: StartRedisOptions): Promise<RedisServer> {
    const args = [...(options.args ?? []), '--dir', makeTempDir('redis')];
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      try {
        return new RedisServer(await launchRedis(port, args), port, args);
      } catch (error) {
        const inUse = String((error as Error).message).includes('in use');
        if (!inUse || options.port !== undefined || attempt >= 5) throw error;
      }
    }
  }

  protected launch(): Promise<ServerProcess> {
    return launchRedis(this.port, this.args);
  }
}

function launchRedis(port: number, args: string[]): Promise<ServerProcess> {
  const bin = findBinary('redis-server');
  return ServerProcess.launch({
    name: `redis-server :${port}`,
    bin,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'].concat(
      ['--loglevel', 'warning', '--daemonize', 'no'],
      args,
    ),
    ready: (_, signal) =>
      pollUntil(async () => (await redisCommand(port, 'PING')) === 'PONG', {
        what: `redis-server on port ${port}`,
        signal,
      }).then(() => undefined),
  });
}

/** Starts a `redis-server` on a free loopback port, without persistence, and waits for PING. */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return RedisServer.create(options);
}
