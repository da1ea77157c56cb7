import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntityKey } from '@entity-sync/core';
import { createPostgresSource } from '@entity-sync/postgres';
import { attachWebSocket } from '@entity-sync/ws';
import pg from 'pg';
import { bundleClient } from './client-bundle.js';
import { addTodo, ensureSchema, getList, getTodo, type Todo, updateTodo } from './schema.js';

export interface TodosOptions {
  /** `postgres://...` of a server with `wal_level=logical`. */
  databaseUrl: string;
  /** TCP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

export interface TodosApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const PUBLIC = new URL('../public/', import.meta.url);
const MAX_BODY = 16 * 1024;

/** Every change to a todo row: the todo itself and the list it is (or was) on. */
function todoKeys(row: Record<string, unknown> | null, old: Record<string, unknown> | null): EntityKey[] {
  const todo = (row ?? old) as unknown as Todo;
  return [
    { entity: 'todos', id: String(todo.id) },
    { entity: 'todoList', id: todo.list },
  ];
}

/** Starts the app: the page, an edit API that only runs SQL, and a Postgres change source. */
export async function startTodos(options: TodosOptions): Promise<TodosApp> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5 });
  pool.on('error', () => {});
  await ensureSchema(pool);
  const sync = createEntitySync();
  sync.registerEntity('todos', { scope: 'shared', fetch: (key) => getTodo(pool, key.id) });
  sync.registerEntity('todoList', { scope: 'shared', fetch: (key) => getList(pool, key.id) });
  const source = createPostgresSource(sync, {
    connection: options.databaseUrl,
    slot: 'postgres_todos',
    publication: 'postgres_todos',
    tables: { 'public.todos': todoKeys },
  });
  await source.start();

  const clientBundle = await bundleClient();
  const http = createServer((req, res) => {
    route(pool, clientBundle, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  const wss = attachWebSocket(sync, { server: http, path: '/ws/entity-sync/' });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    port,
    async close() {
      await source.close();
      await sync.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await pool.end();
    },
  };
}

async function route(pool: pg.Pool, clientBundle: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://todos').pathname;
  if (req.method === 'GET' && (path === '/' || path === '/app.js')) {
    const [file, type] = path === '/' ? ['index.html', 'text/html'] : ['app.js', 'text/javascript'];
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
    res.end(await readFile(new URL(file, PUBLIC)));
  } else if (req.method === 'GET' && path === '/entity-sync-client.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(clientBundle);
  } else if (req.method === 'POST' && path === '/api/todos') {
    const edit = parseEdit(await readBody(req));
    if (!edit?.title) return sendJson(res, 400, { error: 'expected {"title": string (1-200 chars), "list"?: string}' });
    await addTodo(pool, edit.list ?? 'inbox', edit.title);
    sendJson(res, 201, { ok: true });
  } else if (req.method === 'POST' && path.startsWith('/api/todos/')) {
    const id = decodeURIComponent(path.slice('/api/todos/'.length));
    const edit = parseEdit(await readBody(req));
    if (!edit || !/^\d{1,9}$/.test(id)) return sendJson(res, 400, { error: 'expected {"title"?: string, "done"?: boolean}' });
    sendJson(res, (await updateTodo(pool, id, edit)) ? 200 : 404, {});
  } else {
    sendJson(res, 404, { error: 'not found' });
  }
}

function parseEdit(text: string): { title?: string; done?: boolean; list?: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { title, done, list } = value as Record<string, unknown>;
  const edit: { title?: string; done?: boolean; list?: string } = {};
  if (title !== undefined) {
    if (typeof title !== 'string' || title.trim() === '' || title.length > 200) return undefined;
    edit.title = title.trim();
  }
  if (done !== undefined) {
    if (typeof done !== 'boolean') return undefined;
    edit.done = done;
  }
  if (list !== undefined) {
    if (typeof list !== 'string' || !/^[\w-]{1,64}$/.test(list)) return undefined;
    edit.list = list;
  }
  return edit;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY) throw new Error('body too large');
  }
  return body;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
