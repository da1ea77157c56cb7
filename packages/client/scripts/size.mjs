// Prints the size of the browser bundles, minified and gzipped (run `pnpm build` first): the
// client, and the client with one socket per browser (`@entity-sync/client/shared`). Exits 1 when
// a bundle is over its budget (CI runs it through scripts/check-published.mjs).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUNDLES = [
  // The core client stays under 4 KiB minified + gzipped: 3,584 B at 0.2.0; 4,073 B with resume by
  // fingerprint, reconnect jitter, Retry-After, secret expiry and query keys (delta frames are a
  // separate entry, `@entity-sync/client/delta`).
  { label: 'client', file: 'entity-sync-client.browser.min.js', budget: 4_096 },
  // With one socket per browser: 5,564 B at 0.2.0; 6,311 B with resume, reconnect jitter,
  // Retry-After, secret expiry and query keys in the client it holds.
  { label: 'client/shared', file: 'entity-sync-client-shared.browser.min.js', budget: 6_400 },
];

let over = false;
for (const { label, file, budget } of BUNDLES) {
  const code = readFileSync(new URL(`../dist/${file}`, import.meta.url));
  const gzipped = gzipSync(code, { level: 9 }).length;
  const verdict = gzipped < budget ? `under its budget of ${budget} B` : `OVER its budget of ${budget} B`;
  over ||= gzipped >= budget;
  console.log(`${label}: minified: ${code.length} B, minified + gzipped: ${gzipped} B (${(gzipped / 1024).toFixed(2)} KiB), ${verdict}`);
}
process.exit(over ? 1 : 0);
