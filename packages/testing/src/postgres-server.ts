import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { pollUntil } from './poll.js';
import { makeTempDir, ServerProcess } from './server-process.js';
import { chownTo, runSetup, type ServiceUser, serviceUser } from './service-user.js';
import { TestServer } from './test-server.js';

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Client port on 127.0.0.1. @default a free port */
  port?: number;
  /** Extra `-c name=value` settings, e.g. `{ max_slot_wal_keep_size: '64MB' }`. @default {} */
  settings?: Record<string, string>;
}

/** Settings every test server gets: logical replication on, durability traded for speed. */
const BASE_SETTINGS: Record<string, string> = {
  wal_level: 'logical',
  max_replication_slots: '20',
  max_wal_senders: '20',
  max_connections: '200',
  fsync: 'off',
  full_page_writes: 'off',
  log_min_messages: 'warning',
};

/**
 * Finds a Postgres binary: on `PATH`, else in Debian's `/usr/lib/postgresql/<newest>/bin`
 * (where `initdb` and `postgres` live). Throws naming the Debian package when missing.
 */
export function postgresBinary(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const candidate = join(root, version, 'bin', name);
    if (existsSync(candidate)) return candidate;
  }
  return findBinary(name, 'postgresql');
}

/**
 * A Postgres server on 127.0.0.1 with its own data directory in a temp dir, `wal_level=logical`,
 * a superuser `postgres` without password, and the unix socket in the temp dir. As root it runs
 * as the `postgres` system user. {@link stop} and {@link start} keep port and data.
 */
export class PostgresServer extends TestServer {
  private constructor(
    process: ServerProcess,
    readonly port: number,
    /** The temp dir: `data/` is the data directory; the unix socket lives here. */
    readonly dir: string,
    private readonly user: ServiceUser | undefined,
    private readonly settings: Record<string, string>,
  ) {
    super(process);
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** @internal */
  static async create(options: StartPostgresOptions): Promise<PostgresServer> {
    const user = serviceUser('postgres');
    const dir = makeTempDir('postgres');
    chownTo(dir, user);
    const initdb = postgresBinary('initdb');
    runSetup(initdb, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], user);
    const settings = { ...BASE_SETTINGS, ...options.settings };
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      try {
        return new PostgresServer(await launchPostgres(port, dir, user, settings), port, dir, user, settings);
      } catch (error) {
        const inUse = /could not (create|bind)|in use/i.test(String((error as Error).message));
        if (!inUse || options.port !== undefined || attempt >= 5) throw error;
      }
    }
  }

  /** Starts again after a crash: the old backends may hold the shared memory a moment longer. */
  protected async launch(): Promise<ServerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launchPostgres(this.port, this.dir, this.user, this.settings);
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** `SIGKILL` to the postmaster and every backend: the whole server dies at once. */
  override async kill(): Promise<void> {
    const pid = this.pid;
    const children = pid === undefined ? [] : childPids(pid);
    await super.kill();
    for (const child of children) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await pollUntil(() => children.every((child) => !alive(child)), { what: 'postgres backends to exit' });
  }
}

function launchPostgres(
  port: number,
  dir: string,
  user: ServiceUser | undefined,
  settings: Record<string, string>,
): Promise<ServerProcess> {
  const all = { ...settings, port: String(port), listen_addresses: '127.0.0.1', unix_socket_directories: dir };
  const args = ['-D', join(dir, 'data'), ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  return ServerProcess.launch({
    name: `postgres :${port}`,
    bin: postgresBinary('postgres'),
    args,
    ...(user ? { user } : {}),
    stopSignal: 'SIGINT',
    ready: (_, signal) =>
      pollUntil(() => isReady(port), { what: `postgres on port ${port}`, signal, intervalMs: 50, timeoutMs: 30_000 }).then(() => undefined),
    readyTimeoutMs: 30_000,
  });
}

/** `pg_isready` exits 0 once the server accepts connections. */
function isReady(port: number): Promise<boolean> {
  const bin = postgresBinary('pg_isready');
  return new Promise((resolve) => {
    execFile(bin, ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], (error) => resolve(!error));
  });
}

/** Pids whose parent is `pid` (the postmaster's backends), read from /proc. */
function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Running and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Starts a Postgres server (initdb in a temp dir) on a free loopback port and waits for it. */
export function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  return PostgresServer.create(options);
}
