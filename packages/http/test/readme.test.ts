import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { findBinary } from '@entity-sync/testing';
import { type NotifyServer, startNotifyServer } from './support/notify-server.js';

/**
 * The curl examples of the docs, run exactly as written (only the host is pointed at a test
 * server), with the README's answer compared to the real one. The same request is also replayed
 * with fetch from the parsed command, so the example is checked on a machine without curl too.
 */
const DOCS = ['packages/http/README.md', 'docs/scaling.md'];
const DOC_ORIGIN = 'http://localhost:3000';

interface Example {
  doc: string;
  command: string;
  /** The documented answer (status line, headers, blank line, body); a bare 202 when none is shown. */
  answer: string;
}

/** Every ```sh block of the docs that runs curl, with the ```http block after it if there is one. */
function examples(): Example[] {
  return DOCS.flatMap((doc) => {
    const text = readFileSync(new URL(`../../../${doc}`, import.meta.url), 'utf8');
    const found = [...text.matchAll(/```sh\n(curl [\s\S]*?)```(?:\s*```http\n([\s\S]*?)```)?/g)];
    return found.map((m) => ({ doc, command: m[1]!.trim(), answer: m[2]?.trim() ?? 'HTTP/1.1 202 Accepted' }));
  });
}

function curlPath(): string | undefined {
  try {
    return findBinary('curl');
  } catch {
    return undefined;
  }
}

type Runner = 'curl' | 'replay';

/** Runs `command` with curl through sh, or replays it with fetch: either way `curl -i` style output. */
async function run(command: string, origin: string, runner: Runner): Promise<string> {
  const pointed = command.replaceAll(DOC_ORIGIN, origin);
  if (runner === 'curl') {
    const { stdout } = await promisify(execFile)('sh', ['-c', pointed]);
    return stdout.replace(/\r\n/g, '\n');
  }
  const args = [...pointed.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).filter((a) => a !== '\\');
  const url = args.find((a) => a.startsWith('http://'))!;
  const headers = args.flatMap((a, i) => (args[i - 1] === '-H' ? [a.split(/: (.*)/s).slice(0, 2) as [string, string]] : []));
  const body = args[args.indexOf('-d') + 1]!;
  const response = await fetch(url, { method: 'POST', headers, body });
  const lines: string[] = [];
  response.headers.forEach((value, name) => void lines.push(`${name}: ${value}`));
  const head = lines.join('\n');
  return `HTTP/1.1 ${response.status} ${response.statusText}\n${head}\n\n${await response.text()}`;
}

/** The documented answer is the status line, a subset of the headers (any case) and the body. */
function expectDocumented(output: string, documented: string): void {
  const [head = '', body] = output.split('\n\n');
  const [docHead = '', docBody = body] = documented.split('\n\n');
  const [status, ...headers] = head.split('\n');
  const [docStatus, ...docHeaders] = docHead.split('\n');
  expect(status).toBe(docStatus);
  const lower = headers.map((h) => h.toLowerCase());
  for (const header of docHeaders) expect(lower).toContain(header.toLowerCase());
  expect(body?.trim()).toBe(docBody?.trim());
}

const leftovers: NotifyServer[] = [];
afterEach(async () => {
  for (const server of leftovers.splice(0)) await server.close();
});

it('finds the curl examples: keys, keys with a tag and resync in the README, keys in docs/scaling.md', () => {
  const kind = (command: string): string => (command.includes('"resync":true') ? 'resync' : command.includes('"tag"') ? 'tag' : 'keys');
  expect(examples().map((e) => [e.doc, kind(e.command)])).toEqual([
    ['packages/http/README.md', 'keys'],
    ['packages/http/README.md', 'tag'],
    ['packages/http/README.md', 'resync'],
    ['docs/scaling.md', 'keys'],
  ]);
  for (const example of examples()) expect(example.command).toContain(DOC_ORIGIN);
});

// The replay runs everywhere; curl where it is installed (it is on Debian CI images and here).
const runners: Runner[] = curlPath() === undefined ? ['replay'] : ['curl', 'replay'];
const cases = runners.flatMap((runner) => examples().map((example, i) => [runner, example.doc, i, example] as const));

it.each(cases)('%s: %s curl example %i answers as documented and reaches a client', async (runner, _doc, _i, example) => {
  const server = await startNotifyServer();
  leftovers.push(server);
  server.store.set('100', { id: '100', closed: false });
  const client = await server.subscribe('100');
  await client.waitFor((f) => f.type === 'data' && f.data.closed === false);
  server.store.set('100', { id: '100', closed: true });
  expectDocumented(await run(example.command, `http://127.0.0.1:${server.port}`, runner), example.answer);
  await client.waitFor((f) => f.type === 'data' && f.data.closed === true);
});
