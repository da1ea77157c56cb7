// Prints the size of the browser bundles, minified and gzipped (run `pnpm build` first): the
// client, and the client with one socket per browser (`@entity-sync/client/shared`).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

for (const [label, name] of [
  ['client', 'entity-sync-client.browser.min.js'],
  ['client/shared', 'entity-sync-client-shared.browser.min.js'],
]) {
  const code = readFileSync(new URL(`../dist/${name}`, import.meta.url));
  const gzipped = gzipSync(code, { level: 9 }).length;
  console.log(`${label}: minified: ${code.length} B, minified + gzipped: ${gzipped} B (${(gzipped / 1024).toFixed(2)} KiB)`);
}
