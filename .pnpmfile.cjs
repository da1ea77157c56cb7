// pnpm hooks for this workspace. `beforePacking` shapes the manifest that `pnpm pack` and
// `pnpm publish` (and so `changeset publish`) write into a package's tarball; the package.json
// in the repository is left as it is.

/** The export condition that points workspace tools at a package's TypeScript sources. */
const SOURCE_CONDITION = '@entity-sync/source';

/** `exports` without the source condition, at any depth (it points at src/, which is not shipped). */
function withoutSourceCondition(entry) {
  if (entry === null || typeof entry !== 'object') return entry;
  const kept = Object.entries(entry).filter(([key]) => key !== SOURCE_CONDITION);
  return Object.fromEntries(kept.map(([key, value]) => [key, withoutSourceCondition(value)]));
}

function beforePacking(pkg) {
  if (pkg.exports !== undefined) pkg.exports = withoutSourceCondition(pkg.exports);
  // Development dependencies name private workspace packages (@entity-sync/testing) and mean
  // nothing to a user of the tarball.
  delete pkg.devDependencies;
  return pkg;
}

module.exports = { hooks: { beforePacking } };
