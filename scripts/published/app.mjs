// A fresh app outside the workspace, made the way a user makes one: `npm install` of the packed
// tarballs plus ws, Express 5 and Fastify 5 from the npm registry (npm also installs the peers it
// finds: nats, ioredis, react, each at its latest version in our ranges). Then every export of
// every package loads with import and require, the quick starts type-check against the published
// declarations, and each runs on a free port until a subscribed client has received its value.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quickStartApps } from './quick-starts.mjs';
import { run, runOrThrow } from './run.mjs';
import { root } from './workspace.mjs';

// prom-client and @opentelemetry/api are optional peers of @entity-sync/metrics, so npm leaves them
// out: an app that uses the metrics installs one, as this one does.
const FROM_NPM = ['ws@8', 'express@5', 'fastify@5', '@types/express@5', '@types/node@20', 'prom-client@15', '@opentelemetry/api@1'];
/** Installed versions worth printing: the hosts and the peers npm chose. */
const REPORTED = ['ws', 'nats', 'ioredis', 'react', 'express', 'fastify', 'zod', '@types/ws'];

/** Creates the app and installs the tarballs; returns its directory. */
export async function installApp(packed) {
  const dir = mkdtempSync(join(tmpdir(), 'entity-sync-published-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'published-check', private: true, type: 'module' }, null, 2)}\n`);
  const args = ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packed.map((p) => p.tarball), ...FROM_NPM];
  await runOrThrow('npm', args, { cwd: dir, timeoutMs: 240_000 });
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  for (const { name } of packed) {
    const entry = lock.packages[`node_modules/${name}`];
    if (!entry?.resolved?.startsWith('file:')) throw new Error(`${name} was not installed from its tarball: ${JSON.stringify(entry)}`);
  }
  return dir;
}

/** `name@version` of the packages in {@link REPORTED} that the app holds. */
export function installedVersions(dir) {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  return REPORTED.map((name) => `${name}@${lock.packages[`node_modules/${name}`]?.version ?? 'absent'}`);
}

/** Imports and requires every subpath of every package from inside the app; returns what loaded. */
export async function loadEveryExport(dir, packed) {
  const specifiers = packed.flatMap(({ name, manifest }) =>
    Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`)),
  );
  const script = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
for (const specifier of ${JSON.stringify(specifiers)}) {
  const esm = Object.keys(await import(specifier)).sort().join();
  const cjs = Object.keys(require(specifier)).sort().join();
  if (!esm || esm !== cjs) throw new Error(specifier + ': import gives [' + esm + '], require gives [' + cjs + ']');
}`;
  writeFileSync(join(dir, 'load.mjs'), script);
  await runOrThrow('node', ['load.mjs'], { cwd: dir, timeoutMs: 60_000 });
  return specifiers;
}

/** Writes the quick starts and type-checks and compiles them with the workspace's TypeScript. */
export async function compileApps(dir) {
  const apps = quickStartApps();
  for (const app of apps) writeFileSync(join(dir, app.file), app.source);
  copyFileSync(join(root, 'scripts/published/harness.ts'), join(dir, 'harness.ts'));
  writeFileSync(join(dir, 'peers.ts'), PEERS);
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
  await runOrThrow(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { timeoutMs: 120_000 });
  return apps;
}

/** Runs one compiled quick start on a free port; resolves with its output, rejects if it fails. */
export async function runApp(dir, app) {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), NOTIFY_TOKEN: 's3cret-token' };
  const compiled = join(dir, 'out', app.file.replace(/\.ts$/, '.js'));
  const { code, output, timedOut } = await run(process.execPath, [compiled], { cwd: dir, env, timeoutMs: 30_000 });
  if (timedOut) throw new Error(`${app.title}: did not finish (or did not exit after closing) within 30 s:\n${output}`);
  if (code !== 0) throw new Error(`${app.title}: exited with ${code}:\n${output}`);
  return { port, output };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Strict and without skipLibCheck, so the published declarations are checked too, against the
// @types/ws, nats, ioredis, Express, Fastify and Node types npm installed. (nats 2's own
// declarations need the DOM lib's TextEncoder and fail under exactOptionalPropertyTypes; the
// workspace's typecheck covers our types under exactOptionalPropertyTypes.)
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022', 'DOM'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    outDir: 'out',
  },
  include: ['*.ts'],
};

// Compiled only (no broker runs here): the brokers' options against the peer versions npm chose.
const PEERS = `import { createEntitySync } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';
import { Redis } from 'ioredis';

export function clusterOverNats() {
  return createEntitySync({ broker: createNatsBroker({ servers: ['nats://127.0.0.1:4222'] }) });
}

export function clusterOverRedis(url: string) {
  return createEntitySync({ broker: createRedisBroker({ publisher: new Redis(url), subscriber: new Redis(url) }) });
}
`;
