#!/usr/bin/env node
// After `pnpm build`: loads every published package the way users will, through its own
// `exports` map, once with `import` and once with `require`, and checks that both expose the
// same names and that each `types` file exists. Run by .ci/run.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishedPackages } from './published/workspace.mjs';

let failed = false;

// Every package that is published (not private).
for (const { dir, pkg } of publishedPackages()) {
  const problems = [];
  // Every entry point with an import and a require branch: `.`, and subpaths like `./shared`.
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (typeof entry !== 'object' || !entry.import || !entry.require) continue;
    const at = subpath === '.' ? '' : `${subpath}: `;
    const before = problems.length;
    for (const condition of ['import', 'require']) {
      const target = entry[condition];
      if (Object.keys(target)[0] !== 'types') problems.push(`${at}${condition}: "types" must come first`);
      for (const file of [target.types, target.default]) {
        if (!existsSync(join(dir, file))) problems.push(`${at}${condition}: ${file} is missing (run pnpm build)`);
      }
    }
    if (problems.length > before) continue;
    // Resolve from inside the package, as a dependent would, without the source condition.
    const esm = Object.keys(await import(pathToFileURL(join(dir, entry.import.default)).href)).sort();
    const cjs = Object.keys(createRequire(join(dir, 'package.json'))(join(dir, entry.require.default))).sort();
    if (esm.length === 0) problems.push(`${at}the ESM entry exports nothing`);
    if (JSON.stringify(esm) !== JSON.stringify(cjs)) problems.push(`${at}ESM exports ${esm} but CJS exports ${cjs}`);
  }
  if (problems.length > 0) {
    failed = true;
    console.error(`${pkg.name}:\n  ${problems.join('\n  ')}`);
  } else {
    console.log(`${pkg.name}: ESM and CJS entries load and agree`);
  }
}
process.exit(failed ? 1 : 0);
