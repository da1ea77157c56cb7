import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

export default defineConfig([
  libraryBuild,
  {
    // One self-contained, minified ES module for browsers (`browser` condition, CDNs, <script type=module>).
    entry: { 'entity-sync-client.browser': 'src/index.ts' },
    format: ['esm'],
    outExtension: () => ({ js: '.min.js' }),
    platform: 'browser',
    // Self-contained: the protocol module is inlined, from its sources.
    noExternal: ['@entity-sync/protocol'],
    esbuildOptions(options) {
      options.conditions = ['@entity-sync/source'];
    },
    target: 'es2020',
    minify: true,
    sourcemap: true,
    clean: false,
  },
]);
