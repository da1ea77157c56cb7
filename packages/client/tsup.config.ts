import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  {
    // One self-contained, minified ES module for browsers (`browser` condition, CDNs, <script type=module>).
    entry: { 'entity-sync-client.browser': 'src/index.ts' },
    format: ['esm'],
    outExtension: () => ({ js: '.min.js' }),
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    clean: false,
  },
]);
