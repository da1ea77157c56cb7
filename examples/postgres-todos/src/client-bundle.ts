import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles `@entity-sync/client` from its TypeScript source for the browser, so the demo needs no
 * build step on a fresh clone. Takes a few tens of milliseconds.
 */
export async function bundleClient(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "export * from '@entity-sync/client';",
      resolveDir: fileURLToPath(new URL('..', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    conditions: ['@entity-sync/source'],
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
