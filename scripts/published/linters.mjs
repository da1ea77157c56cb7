// publint and arethetypeswrong on a packed tarball, both from the root devDependencies and both
// offline: publint reads the tarball in-process, attw runs with --no-definitely-typed (it would
// otherwise look up @types packages on npm).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { run } from './run.mjs';
import { root } from './workspace.mjs';

const ATTW = join(root, 'node_modules', '.bin', 'attw');

/** Every publint message (suggestions included, warnings as errors) for one tarball. */
export async function runPublint(packed) {
  const data = readFileSync(packed.tarball);
  const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
  return messages.map((message) => `${message.type}: ${formatMessage(message, pkg, { color: false })}`);
}

/**
 * attw on one tarball: its problems, and a one-line summary of what it resolved (every entry
 * point under node10, node16 from CJS and ESM, and bundler resolution).
 */
export async function runAttw(packed) {
  const { output, timedOut } = await run(ATTW, [packed.tarball, '--format', 'json', '--no-definitely-typed'], { timeoutMs: 60_000 });
  if (timedOut) return { problems: ['attw timed out'], summary: '' };
  let result;
  try {
    result = JSON.parse(output);
  } catch {
    return { problems: [`attw did not answer JSON:\n${output}`], summary: '' };
  }
  const { entrypoints, problems } = result.analysis;
  const kinds = [...new Set(Object.values(entrypoints).flatMap((e) => Object.keys(e.resolutions)))];
  const summary = `entry points ${Object.keys(entrypoints).join(', ')} under ${kinds.join(', ')}`;
  const described = problems.map(
    (p) => `${p.kind}${p.entrypoint ? ` at ${p.entrypoint}` : ''}${p.resolutionKind ? ` (${p.resolutionKind})` : ''}`,
  );
  return { problems: described, summary };
}
