import { spawnSync } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';

/** A system account to run a server as. */
export interface ServiceUser {
  uid: number;
  gid: number;
}

/**
 * The account `name` (e.g. `postgres`, `mysql`) when this process is root, because `initdb`
 * and `postgres` refuse to run as root; `undefined` when not root (the server runs as we do).
 */
export function serviceUser(name: string): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`no system user ${name}; the Debian package that creates it is not installed`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** Hands `path` to `user` (no-op when not root). */
export function chownTo(path: string, user: ServiceUser | undefined): void {
  if (user) chownSync(path, user.uid, user.gid);
}

/** Runs a setup command (initdb, mariadb-install-db) to completion; throws with its output. */
export function runSetup(bin: string, args: string[], user?: ServiceUser): void {
  const result = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000, ...user });
  if (result.status === 0) return;
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.slice(-4000);
  const why = result.error ? String(result.error) : `exit ${result.status ?? result.signal}`;
  throw new Error(`${bin} ${args.join(' ')} failed (${why}):\n${output}`);
}
