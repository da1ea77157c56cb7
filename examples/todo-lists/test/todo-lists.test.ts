// Runs the example as a user would: its `start` script (read from package.json) as a child
// process on a free port. A typed @entity-sync/client follows lists 7 and 8 through inserts, a
// move and a delete; two raw WebSocket clients record the frames a move produces, and
// docs/queries.md must show exactly those frames.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from '@entity-sync/client';
import { freePort, TestClient } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { Todo } from '../src/todos.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
const doc = readFileSync(new URL('../../../docs/queries.md', import.meta.url), 'utf8');

let child: ChildProcess;
let exited: Promise<number | null>;
let base = '';
const output: string[] = [];
const closers: Array<() => Promise<void>> = [];

type Entities = { todoList: { params: { owner: string }; value: Todo[] } };

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const [bin, ...args] = scripts['start']!.split(' ');
  child = spawn(`${root}node_modules/.bin/${bin}`, args, {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!])
    stream.setEncoding('utf8').on('data', (chunk: string) => output.push(...chunk.split('\n')));
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the example exited:\n${output.join('\n')}`);
      expect(output.some((line) => line.startsWith('ready:'))).toBe(true);
    },
    { timeout: 30_000, interval: 50 },
  );
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  if (child?.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
});

/** Calls the example's API: `POST /api/todos`, `PATCH` or `DELETE /api/todos/:id`. */
async function api(method: string, path: string, body?: unknown): Promise<Todo> {
  const response = await fetch(`${base}${path}`, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
  expect(response.status).toBe(method === 'POST' ? 201 : 200);
  return (await response.json()) as Todo;
}

/** A raw v1 client holding one list, its frames recorded as `name ← frame` lines. */
async function recorder(name: string, owner: string): Promise<{ lines: string[]; client: TestClient }> {
  const client = await TestClient.connect(`ws${base.slice(4)}/ws/entity-sync/`);
  closers.push(() => client.close());
  const subscribe = { action: 'subscribe', body: { entity: 'todoList', params: { owner } }, ref: 1 };
  await client.next((f) => f.type === 'connected');
  expect(await client.request(subscribe, 1)).toEqual({ type: 'ack', ref: 1 });
  const lines = [`${name} → ${JSON.stringify(subscribe)}`];
  return { lines, client };
}

const received = (name: string, client: TestClient, from: number): string[] =>
  client.frames.slice(from).map((frame) => `${name} ← ${frame}`);
const titles = (list: Todo[] | undefined): string[] | undefined => list?.map((todo) => todo.title);

describe('examples/todo-lists', () => {
  it('inserts, moves between owners and deletes reach the right lists', async () => {
    const client = createClient<Entities>({ url: `ws${base.slice(4)}/ws/entity-sync/`, WebSocket });
    closers.push(() => client.close());
    const lists = new Map<string, Todo[]>();
    for (const owner of ['7', '8']) client.subscribe({ entity: 'todoList', params: { owner } }, (list) => lists.set(owner, list ?? []));
    await expect.poll(() => lists.size, { timeout: 10_000 }).toBe(2);

    const milk = await api('POST', '/api/todos', { owner: '7', title: 'milk' });
    await api('POST', '/api/todos', { owner: '7', title: 'eggs' });
    await api('POST', '/api/todos', { owner: '8', title: 'bread' });
    await expect.poll(() => titles(lists.get('7'))).toEqual(['milk', 'eggs']);
    await expect.poll(() => titles(lists.get('8'))).toEqual(['bread']);

    // Recorded from here: what a client of each list sees when milk moves from 7 to 8.
    const ann = await recorder('ann', '7');
    const bob = await recorder('bob', '8');
    const [annFrom, bobFrom] = [ann.client.frames.length, bob.client.frames.length];
    const moved = await api('PATCH', `/api/todos/${milk.id}`, { owner: '8' });
    expect(moved).toEqual({ ...milk, owner: '8' });
    await expect.poll(() => titles(lists.get('7'))).toEqual(['eggs']);
    await expect.poll(() => titles(lists.get('8'))).toEqual(['milk', 'bread']);
    await ann.client.waitFor((f) => f.type === 'data' && f.data.length === 1);
    await bob.client.waitFor((f) => f.type === 'data' && f.data.length === 2);

    const move = `!   PATCH /api/todos/${milk.id} {"owner":"8"}`;
    const annSaw = [...ann.lines, ...received('ann', ann.client, 1).slice(0, annFrom - 1), move, ...received('ann', ann.client, annFrom)];
    const bobSaw = [...bob.lines, ...received('bob', bob.client, 1).slice(0, bobFrom - 1), move, ...received('bob', bob.client, bobFrom)];
    // One value per list: list 7 without milk, list 8 with it; nothing else.
    expect(annSaw.filter((line) => line.startsWith('ann ←'))).toHaveLength(3);
    expect(bobSaw.filter((line) => line.startsWith('bob ←'))).toHaveLength(3);
    const recorded = [...annSaw, '', ...bobSaw].join('\n');
    expect(doc, `docs/queries.md must show the frames recorded here:\n${recorded}`).toContain(`\`\`\`text\n${recorded}\n\`\`\``);

    await api('DELETE', `/api/todos/${milk.id}`);
    await expect.poll(() => titles(lists.get('8'))).toEqual(['bread']);
    expect(titles(lists.get('7'))).toEqual(['eggs']);
  }, 60_000);

  it('refuses bad params with the schema message, bad writes with 400 and 404, and stops cleanly on SIGTERM', async () => {
    const client = await TestClient.connect(`ws${base.slice(4)}/ws/entity-sync/`);
    closers.push(() => client.close());
    const reply = await client.request({ action: 'subscribe', body: { entity: 'todoList', params: { owner: '' } } }, 'bad');
    expect(reply).toMatchObject({ type: 'error', code: 'INVALID_KEY' });
    expect(reply.message).toMatch(/^invalid params: owner: /);
    expect((await fetch(`${base}/api/todos/999`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${base}/api/todos`, { method: 'POST', body: '{"owner":7}' })).status).toBe(400);
    expect((await fetch(`${base}/api/todos/2`, { method: 'PATCH', body: '{"done":"yes"}' })).status).toBe(400);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('closed');
  }, 60_000);
});
