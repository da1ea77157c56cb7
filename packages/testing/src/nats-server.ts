import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { pollUntil } from './poll.js';
import { makeTempDir, ServerProcess } from './server-process.js';
import { TestServer } from './test-server.js';

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** Client port. @default a free port (`-p -1`) */
  port?: number;
  /** Join or seed a cluster (routes on loopback). */
  cluster?: {
    /** Cluster name; every server of one cluster needs the same. */
    name: string;
    /** Route port of this server. @default a free port */
    port?: number;
    /** Route URLs of servers to join, e.g. another server's `routeUrl`. @default [] */
    routes?: string[];
  };
}

interface Ports {
  nats?: string[];
  monitoring?: string[];
  cluster?: string[];
}

function portOf(url: string | undefined): number {
  const port = Number(url?.slice(url.lastIndexOf(':') + 1));
  if (!port) throw new Error(`no port in ${url}`);
  return port;
}

/** Resolves once a NATS server on `port` sends its `INFO` line. */
function probeInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** A `nats-server` on 127.0.0.1 (no JetStream, nothing on disk but its ports file). */
export class NatsServer extends TestServer {
  private constructor(
    process: ServerProcess,
    private readonly ports: Required<Ports>,
    private readonly options: StartNatsOptions,
  ) {
    super(process);
  }

  get port(): number {
    return portOf(this.ports.nats[0]);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The route URL other cluster members join, when started with `cluster`. */
  get routeUrl(): string | undefined {
    const url = this.ports.cluster[0];
    return url ? `nats://127.0.0.1:${portOf(url)}` : undefined;
  }

  /** The HTTP monitoring address (`/varz`, `/routez`, `/subsz`). */
  get monitorUrl(): string {
    return `http://127.0.0.1:${portOf(this.ports.monitoring[0])}`;
  }

  /** Number of routes to other cluster members (from `/routez`). */
  async routeCount(): Promise<number> {
    const response = await fetch(`${this.monitorUrl}/routez`);
    return ((await response.json()) as { num_routes: number }).num_routes;
  }

  /** @internal */
  static async create(options: StartNatsOptions): Promise<NatsServer> {
    const [process, ports] = await launchNats(options, {});
    return new NatsServer(process, ports, options);
  }

  protected async launch(): Promise<ServerProcess> {
    const fixed = {
      ...this.options,
      port: this.port,
      ...(this.options.cluster && {
        cluster: { ...this.options.cluster, port: portOf(this.ports.cluster[0]) },
      }),
    };
    const [process] = await launchNats(fixed, { monitor: portOf(this.ports.monitoring[0]) });
    return process;
  }
}

function natsArgs(options: StartNatsOptions, monitor: number | undefined, dir: string): string[] {
  const args = ['-a', '127.0.0.1', '-p', String(options.port ?? -1), '-m', String(monitor ?? -1)];
  args.push('--ports_file_dir', dir);
  const cluster = options.cluster;
  if (cluster) {
    args.push('--cluster', `nats://127.0.0.1:${cluster.port ?? -1}`, '--cluster_name', cluster.name);
    if (cluster.routes?.length) args.push('--routes', cluster.routes.join(','));
  }
  return args;
}

async function launchNats(options: StartNatsOptions, fixed: { monitor?: number }): Promise<[ServerProcess, Required<Ports>]> {
  const bin = findBinary('nats-server');
  const dir = makeTempDir('nats');
  let ports: Required<Ports> | undefined;
  const process = await ServerProcess.launch({
    name: `nats-server${options.port ? ` :${options.port}` : ''}`,
    bin,
    args: natsArgs(options, fixed.monitor, dir),
    ready: async (server, signal) => {
      const file = join(dir, `nats-server_${server.pid}.ports`);
      const read = async (): Promise<Required<Ports>> => {
        const parsed = JSON.parse(await readFile(file, 'utf8')) as Ports;
        return { nats: [], monitoring: [], cluster: [], ...parsed };
      };
      ports = await pollUntil(read, { what: `nats-server ports file ${file}`, signal });
      const port = portOf(ports.nats[0]);
      await pollUntil(() => probeInfo(port), { what: `nats-server on port ${port}`, signal });
    },
  });
  return [process, ports!];
}

/** Starts a `nats-server` on a free loopback port and waits until it greets clients. */
export function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  return NatsServer.create(options);
}
