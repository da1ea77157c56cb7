import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from '@entity-sync/client';
import { freePort, postgresBinary } from '@entity-sync/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';

let app: ChildProcess | undefined;
let output = '';
let url = '';
let databaseUrl = '';

/** Starts the example the way its README says (`pnpm start`, no DATABASE_URL: its own Postgres). */
beforeAll(async () => {
  const port = await freePort();
  const { DATABASE_URL: _, ...env } = process.env;
  app = spawn('pnpm', ['start'], { cwd: new URL('..', import.meta.url), env: { ...env, PORT: String(port) }, detached: true });
  const started = new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      databaseUrl = /started Postgres for this run[^:]*: (\S+)/.exec(output)?.[1] ?? databaseUrl;
      const open = /postgres-todos: open (\S+)/.exec(output);
      if (open?.[1]) {
        url = open[1];
        resolve();
      }
    };
    app?.stdout?.on('data', read);
    app?.stderr?.on('data', read);
    app?.once('exit', (code) => reject(new Error(`pnpm start exited (${code}):\n${output}`)));
  });
  await started;
}, 60_000);

afterAll(async () => {
  if (app?.pid === undefined || app.exitCode !== null) return;
  const exited = new Promise((resolve) => app?.once('exit', resolve));
  process.kill(-app.pid, 'SIGTERM');
  await exited;
});

it('shows a psql UPDATE and an edit made through the HTTP API on a WebSocket client', async () => {
  const client = createClient({ url: `${url.replace('http', 'ws')}ws/entity-sync/`, WebSocket: WebSocket as never });
  const titles = new Map<string, string>();
  let inbox: string[] = [];
  for (const id of ['1', '3']) {
    client.subscribe({ entity: 'todos', id }, (todo) => titles.set(id, (todo as { title: string } | null)?.title ?? ''));
  }
  client.subscribe({ entity: 'todoList', id: 'inbox' }, (ids) => {
    inbox = ids as string[];
  });
  await expect.poll(() => titles.get('3'), { timeout: 10_000 }).toBe('Edit me with psql');

  const psql = promisify(execFile);
  await psql(postgresBinary('psql'), [databaseUrl, '-c', "UPDATE todos SET title = 'Edited in psql' WHERE id = 3"]);
  await expect.poll(() => titles.get('3'), { timeout: 10_000 }).toBe('Edited in psql');

  const edit = await fetch(`${url}api/todos/1`, { method: 'POST', body: JSON.stringify({ title: 'Edited on the page' }) });
  expect(edit.status).toBe(200);
  await expect.poll(() => titles.get('1'), { timeout: 10_000 }).toBe('Edited on the page');

  const added = await fetch(`${url}api/todos`, { method: 'POST', body: JSON.stringify({ title: 'Added on the page' }) });
  expect(added.status).toBe(201);
  await expect.poll(() => inbox.length, { timeout: 10_000 }).toBe(4);

  const bad = await fetch(`${url}api/todos/1`, { method: 'POST', body: '{"done": "yes"}' });
  expect(bad.status).toBe(400);
  await client.close();
}, 60_000);
