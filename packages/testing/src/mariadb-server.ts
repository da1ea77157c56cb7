import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { pollUntil } from './poll.js';
import { makeTempDir, ServerProcess } from './server-process.js';
import { chownTo, runSetup, serviceUser } from './service-user.js';
import { TestServer } from './test-server.js';

/** Options of {@link startMariadb}. */
export interface StartMariadbOptions {
  /** Client port on 127.0.0.1. @default a free port */
  port?: number;
  /** Extra `mariadbd` arguments, e.g. `['--binlog-row-image=MINIMAL']`. @default [] */
  args?: string[];
}

/** Runs at every start: lets `root` in over TCP without a password, and makes `test`. */
const INIT_SQL = `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS test;
`;

/**
 * A MariaDB server on 127.0.0.1 with its own data directory in a temp dir and a row-format
 * binlog (`--log-bin --binlog-format=ROW --binlog-row-image=FULL --server-id=1`). User `root`
 * without password over TCP, database `test`. As root it runs with `--user=mysql`.
 * {@link stop} and {@link start} keep port and data.
 */
export class MariadbServer extends TestServer {
  private constructor(
    process: ServerProcess,
    readonly port: number,
    /** The temp dir: `data/` is the data directory; the socket and binlogs live here too. */
    readonly dir: string,
    private readonly args: string[],
  ) {
    super(process);
  }

  /** `mysql://root@127.0.0.1:<port>/test` */
  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}/test`;
  }

  /** @internal */
  static async create(options: StartMariadbOptions): Promise<MariadbServer> {
    const user = serviceUser('mysql');
    const dir = makeTempDir('mariadb');
    chownTo(dir, user);
    const data = join(dir, 'data');
    const install = findBinary('mariadb-install-db', 'mariadb-server');
    const who = user ? ['--user=mysql'] : [];
    runSetup(install, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...who]);
    writeFileSync(join(dir, 'init.sql'), INIT_SQL);
    chownTo(join(dir, 'init.sql'), user);
    const args = serverArgs(dir, who, options.args ?? []);
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      try {
        return new MariadbServer(await launchMariadb(port, args), port, dir, args);
      } catch (error) {
        const inUse = /in use|bind on TCP/i.test(String((error as Error).message));
        if (!inUse || options.port !== undefined || attempt >= 5) throw error;
      }
    }
  }

  protected launch(): Promise<ServerProcess> {
    return launchMariadb(this.port, this.args);
  }
}

function serverArgs(dir: string, who: string[], extra: string[]): string[] {
  return [
    '--no-defaults',
    ...who,
    `--datadir=${join(dir, 'data')}`,
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--init-file=${join(dir, 'init.sql')}`,
    `--log-bin=${join(dir, 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--server-id=1',
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--innodb-flush-log-at-trx-commit=2',
    '--innodb-buffer-pool-size=64M',
    '--sync-binlog=0',
    ...extra,
  ];
}

function launchMariadb(port: number, args: string[]): Promise<ServerProcess> {
  return ServerProcess.launch({
    name: `mariadbd :${port}`,
    bin: findBinary('mariadbd', 'mariadb-server'),
    args: [...args, `--port=${port}`],
    ready: (_, signal) =>
      pollUntil(() => greets(port), { what: `mariadbd on port ${port}`, signal, intervalMs: 50, timeoutMs: 30_000 }).then(() => undefined),
    readyTimeoutMs: 30_000,
  });
}

/** Resolves `true` once a server on `port` sends its handshake packet (protocol version 10). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.length > 4 && chunk[4] === 10);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** Starts a MariaDB server (install-db in a temp dir) on a free loopback port and waits for it. */
export function startMariadb(options: StartMariadbOptions = {}): Promise<MariadbServer> {
  return MariadbServer.create(options);
}
