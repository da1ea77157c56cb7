// Prints what @entity-sync/react adds to an app's bundle, minified and gzipped (run `pnpm build`
// first): dist/index.js bundled and minified by esbuild for browsers, with `react` and
// `@entity-sync/client` left out (the app has them anyway), gzipped at level 9 like the client's.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const result = await build({
  entryPoints: [new URL('../dist/index.js', import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  external: ['react', '@entity-sync/client'],
  write: false,
});
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`minified: ${code.length} B, minified + gzipped: ${gzipped} B (${(gzipped / 1024).toFixed(2)} KiB)`);
