// The rules every packed package follows (CONTRIBUTING.md explains them): its manifest (no source
// condition, no workspace: range, metadata, the core as a peer), its files (LICENSE, CHANGELOG)
// and its README (absolute links to files that exist, nothing private or unshipped).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { privatePackageNames, REPOSITORY, root } from './workspace.mjs';

const SOURCE_CONDITION = '@entity-sync/source';
/** The only workspace package a published package may list in `dependencies`: stateless constants. */
const PLAIN_DEPENDENCIES = new Set(['@entity-sync/protocol']);
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** @param {import('./pack.mjs').Packed} packed @returns {string[]} the problems found */
export function checkPacked(packed) {
  return [...checkManifest(packed), ...checkFiles(packed), ...checkReadme(packed)];
}

function checkManifest({ folder, manifest: pkg }) {
  const problems = [];
  if (JSON.stringify(pkg.exports ?? {}).includes(SOURCE_CONDITION)) problems.push(`exports keeps the ${SOURCE_CONDITION} condition`);
  for (const field of DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${dep} is still ${range}`);
      if (dep.startsWith('@entity-sync/') && field === 'dependencies' && !PLAIN_DEPENDENCIES.has(dep)) {
        problems.push(`${dep} is in dependencies: make it a peer dependency (one copy per app)`);
      }
      if (dep.startsWith('@entity-sync/') && field === 'peerDependencies' && range !== `^${pkg.version}`) {
        problems.push(`peerDependencies.${dep} is ${range}, not ^${pkg.version} (write workspace:^)`);
      }
    }
  }
  const expected = {
    license: 'MIT',
    author: 'entity-sync contributors',
    repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${folder}` },
    homepage: `${REPOSITORY}/tree/main/packages/${folder}#readme`,
    bugs: { url: `${REPOSITORY}/issues` },
  };
  for (const [field, value] of Object.entries(expected)) {
    if (JSON.stringify(pkg[field]) !== JSON.stringify(value))
      problems.push(`${field} is ${JSON.stringify(pkg[field])}, not ${JSON.stringify(value)}`);
  }
  if (!pkg.description) problems.push('description is missing');
  if (!Array.isArray(pkg.keywords) || pkg.keywords.length === 0) problems.push('keywords are missing');
  return problems;
}

function checkFiles({ unpacked, files, manifest, folder }) {
  const problems = [];
  for (const file of ['LICENSE', 'README.md', 'CHANGELOG.md']) {
    if (!files.includes(file)) problems.push(`${file} is not in the tarball (add it to "files")`);
  }
  if (files.includes('LICENSE') && read(unpacked, 'LICENSE') !== read(root, 'LICENSE'))
    problems.push('LICENSE differs from the root LICENSE');
  if (files.includes('CHANGELOG.md') && !read(unpacked, 'CHANGELOG.md').includes(`\n## ${manifest.version}\n`)) {
    problems.push(`CHANGELOG.md has no "## ${manifest.version}" entry`);
  }
  const mentions = new RegExp(`(${privatePackageNames().join('|')})(?![\\w-])`);
  for (const file of files.filter((f) => !f.endsWith('.map') && f !== 'CHANGELOG.md')) {
    const found = read(unpacked, file).match(mentions);
    if (found) problems.push(`${file} mentions the private package ${found[1]}`);
  }
  if (files.some((f) => f.startsWith('src/') || f.startsWith('test/'))) problems.push(`sources are packed (${folder}: "files")`);
  return problems;
}

/** Markdown links `[text](target)`, and `code` spans naming files of src/, test/ or scripts/. */
const LINK = /\]\(([^)\s]+)\)/g;
const SOURCE_PATH = /`[^`\s]*\b(?:src|test|scripts)\/[^`\s]+\.(?:ts|tsx|js|mjs)`/g;

function checkReadme({ unpacked, files }) {
  if (!files.includes('README.md')) return [];
  const text = read(unpacked, 'README.md');
  const problems = [];
  for (const [, target] of text.matchAll(LINK)) {
    if (target.startsWith('#') || target.startsWith('mailto:')) continue;
    if (!/^https?:\/\//.test(target)) problems.push(`README.md: relative link ${target} breaks on npm (write ${REPOSITORY}/blob/main/...)`);
    const inRepo = target.match(new RegExp(`^${REPOSITORY}/(?:blob|tree)/main/([^#?]+)`));
    if (inRepo && !existsSync(join(root, inRepo[1]))) problems.push(`README.md: ${target} names a file the repository does not have`);
  }
  // A source file is fine as the text of an absolute link, not as a bare pointer.
  const outsideLinks = text.replace(/\[[^\]]*\]\(https?:[^)]+\)/g, '');
  for (const [path] of outsideLinks.matchAll(SOURCE_PATH)) {
    problems.push(`README.md: ${path} points at a file that is not shipped (link it on GitHub)`);
  }
  return problems;
}

function read(dir, file) {
  return readFileSync(join(dir, file), 'utf8');
}
