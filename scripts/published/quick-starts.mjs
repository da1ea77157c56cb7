// The apps the published-package check runs, made from the READMEs' own code: the root README's
// quick start (node:http), and @entity-sync/http's quick start mounted on Express 5 and on
// Fastify 5 as its README shows. Each README block is used as written; the only changes are the
// port (a free one instead of 3000) and the lines named below. Each app then proves that a value
// reaches a subscribed @entity-sync/client, and closes everything. A README edit that breaks one
// of these steps fails with a message naming it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './workspace.mjs';

/** @typedef {{ file: string, title: string, source: string }} App */

/** @returns {App[]} */
export function quickStartApps() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const httpReadme = readFileSync(join(root, 'packages/http/README.md'), 'utf8');
  const notifyQuickStart = withoutNodeServer(tsBlocks(section(httpReadme, '## Quick start'))[0]);
  const frameworks = section(httpReadme, '## Express and Fastify');
  return [
    {
      file: 'quick-start.ts',
      title: 'README quick start (node:http, ws, client)',
      source: [BROWSER_ON_NODE, ...tsBlocks(section(readme, '## Quick start')).map(atFreePort), QUICK_START_CHECK].join('\n'),
    },
    {
      file: 'express.ts',
      title: '@entity-sync/http quick start on Express 5',
      source: [NOTIFY_PRELUDE, notifyQuickStart, atFreePort(blockAfter(frameworks, '**Express 5**')), notifyCheck('server.close();')].join(
        '\n',
      ),
    },
    {
      file: 'fastify.ts',
      title: '@entity-sync/http quick start on Fastify 5',
      source: [
        NOTIFY_PRELUDE,
        notifyQuickStart,
        atFreePort(blockAfter(frameworks, '**Fastify 5**')),
        notifyCheck('await fastify.close();'),
      ].join('\n'),
    },
  ];
}

/** The text under `heading`, up to the next heading of the same level. */
function section(markdown, heading) {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README: no "${heading}" section`);
  const level = heading.split(' ')[0];
  const end = markdown.indexOf(`\n${level} `, start + heading.length + 2);
  return markdown.slice(start, end < 0 ? undefined : end);
}

function tsBlocks(text) {
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error(`README: no ts block in:\n${text.slice(0, 200)}`);
  return blocks;
}

/** The first ts block after the line holding `marker`. */
function blockAfter(text, marker) {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README: no "${marker}"`);
  return tsBlocks(text.slice(at))[0];
}

/** The same code on the port the check chose: `listen(3000)`, `port: 3000`, `'ws://localhost:3000/...'`. */
function atFreePort(code) {
  const pointed = code
    .replaceAll('listen(3000)', 'listen(PORT)')
    .replaceAll('port: 3000', 'port: PORT')
    .replace(/'(\w+:\/\/localhost):3000([^']*)'/g, (_, origin, rest) => `\`${origin}:\${PORT}${rest}\``);
  const withoutComments = pointed.replace(/\s\/\/.*$/gm, '');
  if (withoutComments.includes('3000')) throw new Error(`README: a use of port 3000 this check cannot point elsewhere:\n${code}`);
  return pointed;
}

/** The http quick start up to its own node:http server, which the framework snippets replace. */
function withoutNodeServer(code) {
  const at = code.indexOf('const server = createServer(');
  if (at < 0) throw new Error('packages/http/README.md quick start: no `const server = createServer(` to replace');
  return code.slice(0, at);
}

// The quick start's second block is browser code; on Node 20 it gets ws's WebSocket as the global.
const BROWSER_ON_NODE = `import { WebSocket as NodeWebSocket } from 'ws';
import { untilSeen } from './harness.js';
const PORT = Number(process.env.PORT);
Object.assign(globalThis, { WebSocket: globalThis.WebSocket ?? NodeWebSocket });
const seen: unknown[] = [];
const render = (item: unknown): void => void seen.push(item);
`;

const QUICK_START_CHECK = `type QuickStartItem = { id: string; closed: boolean } | null;
await untilSeen(seen, (v) => (v as QuickStartItem)?.closed === true, 'the value notified by the quick start');
db.set('100', { id: '100', closed: false });
await sync.notifyAllOfChange({ entity: 'items', id: '100' });
await untilSeen(seen, (v) => (v as QuickStartItem)?.closed === false, 'the value of a second notify');
await client.close();
await sync.close();
server.close();
`;

const NOTIFY_PRELUDE = `import { createClient } from '@entity-sync/client';
import { WebSocket as NodeWebSocket } from 'ws';
import { postJson, untilSeen } from './harness.js';
const PORT = Number(process.env.PORT);
type Item = { id: string; title: string };
const db = { items: new Map<string, Item>() };
`;

function notifyCheck(closeServer) {
  return `const seen: Array<Item | null> = [];
const client = createClient<{ items: Item }>({ url: \`ws://localhost:\${PORT}/ws/entity-sync/\`, WebSocket: NodeWebSocket });
client.subscribe({ entity: 'items', id: '100' }, (item) => void seen.push(item));
await untilSeen(seen, (v) => v === null, 'null for an item that does not exist yet');
db.items.set('100', { id: '100', title: 'written by a producer' });
await postJson(\`http://localhost:\${PORT}/notify\`, process.env.NOTIFY_TOKEN!, { keys: [{ entity: 'items', id: '100' }] }, 202);
await untilSeen(seen, (v) => v?.title === 'written by a producer', 'the value after POST /notify');
await client.close();
await sync.close();
${closeServer}
`;
}
