// Prints the size of the browser bundle, minified and gzipped (run `pnpm build` first).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const file = new URL('../dist/entity-sync-client.browser.min.js', import.meta.url);
const code = readFileSync(file);
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`minified: ${code.length} B, minified + gzipped: ${gzipped} B (${(gzipped / 1024).toFixed(2)} KiB)`);
