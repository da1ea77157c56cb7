import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

/** One self-contained, minified ES module for browsers (`browser` condition, CDNs, <script type=module>). */
const browserBundle = (name: string, entry: string) => ({
  entry: { [name]: entry },
  format: ['esm' as const],
  outExtension: () => ({ js: '.min.js' }),
  platform: 'browser' as const,
  // Self-contained: the protocol module is inlined, from its sources.
  noExternal: ['@entity-sync/protocol'],
  esbuildOptions(options: { conditions?: string[]; tsconfig?: string; tsconfigRaw?: unknown }) {
    options.conditions = ['@entity-sync/source'];
    // Class fields as plain assignments in the constructor, not one helper call per field:
    // the same behaviour for these classes (no setters, no field shadowing), fewer bytes.
    delete options.tsconfig;
    options.tsconfigRaw = { compilerOptions: { useDefineForClassFields: false } };
  },
  target: 'es2020',
  minify: true,
  sourcemap: true,
  clean: false,
});

export default defineConfig([
  { ...libraryBuild, entry: ['src/index.ts', 'src/shared.ts', 'src/delta.ts'] },
  browserBundle('entity-sync-client.browser', 'src/index.ts'),
  // `@entity-sync/client/shared`: the whole client plus one socket per browser.
  browserBundle('entity-sync-client-shared.browser', 'src/shared.ts'),
]);
