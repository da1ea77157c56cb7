#!/usr/bin/env node
// After `pnpm build`: loads every published package the way users will, through its own
// `exports` map, once with `import` and once with `require`, and checks that both expose the
// same names and that each `types` file exists. Run by .ci/run.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'ws', 'nats', 'redis', 'client', 'postgres', 'mysql'];
let failed = false;

for (const name of packages) {
  const dir = join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entry = pkg.exports['.'];
  const problems = [];
  for (const condition of ['import', 'require']) {
    const target = entry[condition];
    if (Object.keys(target)[0] !== 'types') problems.push(`${condition}: "types" must come first`);
    for (const file of [target.types, target.default]) {
      if (!existsSync(join(dir, file))) problems.push(`${condition}: ${file} is missing (run pnpm build)`);
    }
  }
  if (problems.length === 0) {
    // Resolve from inside the package, as a dependent would, without the source condition.
    const esm = Object.keys(await import(pathToFileURL(join(dir, entry.import.default)).href)).sort();
    const cjs = Object.keys(createRequire(join(dir, 'package.json'))(join(dir, entry.require.default))).sort();
    if (esm.length === 0) problems.push('the ESM entry exports nothing');
    if (JSON.stringify(esm) !== JSON.stringify(cjs)) problems.push(`ESM exports ${esm} but CJS exports ${cjs}`);
  }
  if (problems.length > 0) {
    failed = true;
    console.error(`${pkg.name}:\n  ${problems.join('\n  ')}`);
  } else {
    console.log(`${pkg.name}: ESM and CJS entries load and agree`);
  }
}
process.exit(failed ? 1 : 0);
