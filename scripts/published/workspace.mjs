// What the workspace holds: its published packages (every `packages/*` whose package.json is not
// private) and the names of the private ones. Shared by check-packages.mjs and check-published.mjs,
// so a new package is picked up without being listed anywhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The repository every package.json and README points at. */
export const REPOSITORY = 'https://github.com/entity-sync/entity-sync';

/** `{ name, dir, folder, pkg }` of every package under `packages/`, private or not. */
function workspacePackages() {
  return readdirSync(join(root, 'packages'))
    .map((folder) => ({ folder, dir: join(root, 'packages', folder) }))
    .filter(({ dir }) => existsSync(join(dir, 'package.json')))
    .map(({ folder, dir }) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: pkg.name, dir, folder, pkg };
    });
}

/** Every package that is published (not private), in folder order. */
export function publishedPackages() {
  return workspacePackages().filter(({ pkg }) => !pkg.private);
}

/** Names of the private packages of the whole workspace (packages, examples, bench): never shipped. */
export function privatePackageNames() {
  const folders = ['packages', 'examples'].flatMap((parent) => readdirSync(join(root, parent)).map((folder) => join(root, parent, folder)));
  return [...folders, join(root, 'bench')]
    .map((dir) => join(dir, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')))
    .filter((pkg) => pkg.private)
    .map((pkg) => pkg.name);
}
