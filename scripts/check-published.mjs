#!/usr/bin/env node
// After `pnpm build`: checks the packages as npm would receive them. Packs every published
// package (`pnpm pack`, as `pnpm publish` does), then per tarball: the manifest, files and README
// rules (scripts/published/rules.mjs), publint, and arethetypeswrong; the client's bundle size
// budget; and a fresh app outside the workspace that installs the tarballs from disk and the rest
// from npm, loads every export, and type-checks and runs the quick starts (node:http, Express 5,
// Fastify 5). Prints what each check found; exits 1 if any failed. Run by .ci/run.
// KEEP_PUBLISHED_CHECK=1 keeps the temporary folders and prints where they are.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileApps, installApp, installedVersions, loadEveryExport, runApp } from './published/app.mjs';
import { runAttw, runPublint } from './published/linters.mjs';
import { packAll } from './published/pack.mjs';
import { checkPacked } from './published/rules.mjs';
import { mapLimit, run } from './published/run.mjs';
import { root } from './published/workspace.mjs';

const started = Date.now();
const temporary = [];
let failed = false;

function report(label, problems, fine) {
  if (problems.length === 0) {
    console.log(`  ok    ${label}: ${fine}`);
    return;
  }
  failed = true;
  const lines = problems.flatMap((problem) => problem.split('\n'));
  console.log(`  FAIL  ${label}:\n          ${lines.join('\n          ')}`);
}

async function step(title, body) {
  const at = Date.now();
  console.log(`\n-- ${title}`);
  try {
    await body();
  } catch (error) {
    report(title, [error instanceof Error ? error.message : String(error)], '');
  }
  console.log(`   (${((Date.now() - at) / 1000).toFixed(1)} s)`);
}

const packDir = mkdtempSync(join(tmpdir(), 'entity-sync-packs-'));
temporary.push(packDir);
let packed = [];

await step('pack every published package (pnpm pack)', async () => {
  packed = await packAll(packDir);
  for (const p of packed) {
    const kb = (statSync(p.tarball).size / 1024).toFixed(1);
    console.log(`  ok    ${p.name}@${p.manifest.version}: ${p.files.length} files, ${kb} KiB packed`);
  }
});

await step('manifest, files and README of each tarball', async () => {
  for (const p of packed)
    report(p.name, checkPacked(p), 'no source condition or workspace: range, metadata, LICENSE, CHANGELOG, absolute README links');
});

await step('publint (suggestions included, warnings as errors)', async () => {
  for (const p of packed) report(p.name, await runPublint(p), 'no messages');
});

await step('arethetypeswrong (attw, offline)', async () => {
  const results = await mapLimit(packed, 2, runAttw);
  for (const [i, p] of packed.entries()) report(p.name, results[i].problems, `no problems: ${results[i].summary}`);
});

await step('client bundle size budget', async () => {
  const { code, output } = await run(process.execPath, [join(root, 'packages/client/scripts/size.mjs')]);
  report('@entity-sync/client', code === 0 ? [] : [output.trim()], `\n          ${output.trim().split('\n').join('\n          ')}`);
});

await step('a fresh app outside the workspace: npm install of the tarballs, ws, express@5, fastify@5', async () => {
  if (packed.length === 0) throw new Error('nothing was packed');
  const dir = await installApp(packed);
  temporary.push(dir);
  console.log(`  ok    installed in ${dir}: ${installedVersions(dir).join(', ')}`);
  const loaded = await loadEveryExport(dir, packed);
  console.log(`  ok    import and require give the same names for ${loaded.length} entry points: ${loaded.join(', ')}`);
  const apps = await compileApps(dir);
  console.log(`  ok    tsc (strict, no skipLibCheck): ${[...apps.map((a) => a.file), 'peers.ts'].join(', ')}`);
  for (const app of apps) {
    const { port, output } = await runApp(dir, app);
    console.log(`  ok    ${app.title}, port ${port}:\n          ${output.trim().split('\n').join('\n          ')}`);
  }
});

if (process.env.KEEP_PUBLISHED_CHECK) console.log(`\nkept: ${temporary.join(', ')}`);
else for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
console.log(`\n${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
