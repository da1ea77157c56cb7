import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('../test-fixtures/typed-map/', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs the TypeScript compiler on the fixture project; resolves with its exit code and output. */
function compile(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', `${fixture}tsconfig.json`, '--pretty', 'false'], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr });
    });
  });
}

/** The 1-based numbers of the lines that follow a `// fails:` comment in `file`. */
function markedLines(file: string): number[] {
  const lines = readFileSync(`${fixture}${file}`, 'utf8').split('\n');
  return lines.flatMap((line, i) => (line.trim().startsWith('// fails:') ? [i + 2] : []));
}

describe('one entity map types the server, the client and the hooks (compiler run)', () => {
  it('a file with typos in entity names and wrong value shapes fails to compile, on exactly those lines', async () => {
    const { code, output } = await compile();
    expect(code).not.toBe(0);
    const errors = [...output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+)/gm)].map(([, file, line, ts]) => ({
      file: file!.replace(/\\/g, '/').split('/').pop(),
      line: Number(line),
      ts,
    }));
    // server.ts, client.ts and entities.ts use the same map correctly and compile cleanly.
    expect(errors.filter((e) => e.file !== 'bad.ts')).toEqual([]);
    const marked = markedLines('bad.ts');
    expect(marked).toHaveLength(7);
    expect([...new Set(errors.map((e) => e.line))].sort((a, b) => a - b)).toEqual(marked);
  }, 240_000);
});
