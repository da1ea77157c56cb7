import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { attachWebSocket } from '@entity-sync/ws';
import { changeTargets, registerTodoEntities } from './lists.js';
import { type RowChange, type Todo, TodoTable } from './todos.js';

export interface TodoListsServer {
  sync: EntitySync;
  todos: TodoTable;
  /** `http://127.0.0.1:<port>/` */
  url: string;
  close(): Promise<void>;
}

/**
 * One node: the `todo` and `todoList` entities on a WebSocket endpoint (`/ws/entity-sync/`), and
 * a JSON API that writes the table and notifies what each write touched:
 * `POST /api/todos {"owner", "title"}`, `PATCH /api/todos/:id {"owner"?, "title"?, "done"?}`,
 * `DELETE /api/todos/:id`.
 */
export async function startTodoLists(options: { port?: number; host?: string } = {}): Promise<TodoListsServer> {
  const todos = new TodoTable();
  const sync = createEntitySync({ onError: (err, ctx) => console.error(`[entity-sync] ${err.code}: ${err.message}`, ctx) });
  registerTodoEntities(sync, todos);
  const http = createServer((req, res) => {
    route(req, todos)
      .catch((error: unknown): Answer => ({ status: 400, error: String(error) }))
      .then(async (answer) => {
        // The write is done; tell every node what it touched (a 503 if the bus refuses).
        if (answer.change !== undefined) await sync.notifyAllOfChange(changeTargets(answer.change));
        return answer;
      })
      .then(({ status, change, error }) => {
        const body = error ?? JSON.stringify(change?.after ?? change?.before ?? null);
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 404 ? undefined : body);
      })
      .catch((error: unknown) => res.writeHead(503).end(String(error)));
  });
  const transport = attachWebSocket(sync, { server: http });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    sync,
    todos,
    url: `http://127.0.0.1:${port}/`,
    async close() {
      await transport.close();
      await sync.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

interface Answer {
  status: number;
  change?: RowChange | undefined;
  error?: string;
}

/** Applies one API request to the table: the status to answer, and what changed. */
async function route(req: IncomingMessage, todos: TodoTable): Promise<Answer> {
  const path = new URL(req.url ?? '/', 'http://node').pathname;
  const id = path.startsWith('/api/todos/') ? decodeURIComponent(path.slice('/api/todos/'.length)) : undefined;
  if (req.method === 'POST' && path === '/api/todos') {
    const { owner, title } = (await readJson(req)) as { owner: string; title: string };
    if (typeof owner !== 'string' || typeof title !== 'string') throw new Error('expected {"owner": string, "title": string}');
    return { status: 201, change: todos.insert(owner, title) };
  }
  if (req.method === 'PATCH' && id !== undefined) {
    const change = todos.update(id, patchOf(await readJson(req)));
    return { status: change === undefined ? 404 : 200, change };
  }
  if (req.method === 'DELETE' && id !== undefined) {
    const change = todos.delete(id);
    return { status: change === undefined ? 404 : 200, change };
  }
  return { status: 404 };
}

/** The fields a PATCH may change, checked. */
function patchOf(body: unknown): Partial<Omit<Todo, 'id'>> {
  const { owner, title, done } = (body ?? {}) as Record<string, unknown>;
  if (owner !== undefined && typeof owner !== 'string') throw new Error('"owner" must be a string');
  if (title !== undefined && typeof title !== 'string') throw new Error('"title" must be a string');
  if (done !== undefined && typeof done !== 'boolean') throw new Error('"done" must be a boolean');
  return { ...(owner !== undefined && { owner }), ...(title !== undefined && { title }), ...(done !== undefined && { done }) };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let body = '';
  for await (const chunk of req) if ((body += String(chunk)).length > 16_384) throw new Error('body too large');
  return JSON.parse(body);
}
