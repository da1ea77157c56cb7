// Packs every published package with `pnpm pack` (as `pnpm publish` and `changeset publish` would:
// same manifest rewriting, same .pnpmfile.cjs beforePacking hook) and unpacks each tarball, so
// the checks read what npm would receive.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapLimit, runOrThrow } from './run.mjs';
import { publishedPackages } from './workspace.mjs';

/**
 * @typedef {object} Packed
 * @property {string} name      the package name
 * @property {string} folder    its folder under packages/
 * @property {string} tarball   the .tgz written by pnpm pack
 * @property {string} unpacked  the tarball's `package/` folder
 * @property {string[]} files   the tarball's files, relative to `unpacked`
 * @property {Record<string, any>} manifest  the package.json inside the tarball
 */

/** @returns {Promise<Packed[]>} */
export function packAll(destination) {
  return mapLimit(publishedPackages(), 4, async ({ name, dir, folder }) => {
    const out = join(destination, folder);
    mkdirSync(out, { recursive: true });
    const json = await runOrThrow('pnpm', ['pack', '--pack-destination', out, '--json'], { cwd: dir, timeoutMs: 60_000 });
    const { filename, files } = JSON.parse(json);
    await runOrThrow('tar', ['-xzf', filename, '-C', out]);
    const unpacked = join(out, 'package');
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
    return { name, folder, tarball: filename, unpacked, files: files.map((f) => f.path), manifest };
  });
}
