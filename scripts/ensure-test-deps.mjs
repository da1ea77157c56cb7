#!/usr/bin/env node
// Makes sure the binaries the integration tests spawn are installed: redis-server, nats-server,
// Debian's chromium, postgresql and mariadb-server. Silent when they are. When some are missing: as root on Debian or
// Ubuntu, installs them with apt-get; otherwise exits 1 naming the packages to install.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];

function onPath(name) {
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function exists(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasPostgres() {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => exists(join(root, v, 'bin', 'initdb')));
}

function isDebianLike() {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(release);
  } catch {
    return false;
  }
}

function apt(args) {
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) {
    console.error(`ensure-test-deps: apt-get ${args.join(' ')} failed`);
    process.exit(1);
  }
}

const missing = [
  !onPath('redis-server') && 'redis-server',
  !onPath('nats-server') && 'nats-server',
  !exists('/usr/bin/chromium') && ['chromium', 'chromium-driver'],
  !hasPostgres() && 'postgresql',
  !onPath('mariadbd') && 'mariadb-server',
]
  .filter(Boolean)
  .flat();

if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
if (!isRoot || !isDebianLike()) {
  console.error(`ensure-test-deps: missing test dependencies. Install them with:\n  sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}

console.error(`ensure-test-deps: installing ${missing.join(' ')} with apt-get`);
apt(['update', '-qq']);
apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
