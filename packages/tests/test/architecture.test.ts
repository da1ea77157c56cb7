import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The package boundaries of design section 2, checked on the sources: arrows point toward core,
 * each host or broker library is imported only by its own adapter, adapters use core's public
 * entry only, and library code never writes to the console.
 */
const root = fileURLToPath(new URL('../../..', import.meta.url));

function sources(pkg: string): string[] {
  const dir = join(root, 'packages', pkg, 'src');
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('test-helper'))
    .map((f) => join(dir, f));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

const allowed: Record<string, RegExp> = {
  protocol: /^\./,
  core: /^(node:|zod$|@entity-sync\/protocol$|\.)/,
  ws: /^(node:|ws$|@entity-sync\/core$|\.)/,
  nats: /^(node:|nats$|@entity-sync\/core$|\.)/,
  redis: /^(node:|ioredis$|@entity-sync\/core$|\.)/,
  http: /^(node:|@entity-sync\/core$|\.)/,
  client: /^(@entity-sync\/protocol$|\.)/,
};

describe('package boundaries', () => {
  for (const [pkg, pattern] of Object.entries(allowed)) {
    it(`@entity-sync/${pkg} imports only ${pattern}`, () => {
      const offending = sources(pkg).flatMap((file) =>
        imports(file)
          .filter((spec) => !pattern.test(spec))
          .map((spec) => `${relative(root, file)}: ${spec}`),
      );
      expect(offending).toEqual([]);
    });

    it(`@entity-sync/${pkg} has no console calls`, () => {
      const offending = sources(pkg).filter((file) => /\bconsole\.\w+\(/.test(readFileSync(file, 'utf8')));
      expect(offending.map((f) => relative(root, f))).toEqual([]);
    });
  }
});
