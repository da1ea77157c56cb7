import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync } from '@entity-sync/core';
import { attachWebSocket } from '@entity-sync/ws';
import { bundleClient } from './client-bundle.js';
import { type Item, ItemStore } from './store.js';

export interface DemoOptions {
  /** TCP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** The items the in-memory store starts with. @default INITIAL_ITEMS */
  items?: readonly Pick<Item, 'id' | 'title' | 'done'>[];
}

export interface Demo {
  readonly url: string;
  readonly port: number;
  readonly store: ItemStore;
  /** Closes WebSockets with 1001 (pages reconnect), then the HTTP server. */
  close(): Promise<void>;
}

const PUBLIC = new URL('../public/', import.meta.url);
const MAX_BODY = 16 * 1024;

/** Starts the demo: the page, its edit API, and entity-sync on `/ws/entity-sync/`. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const store = new ItemStore(options.items);
  const clientBundle = await bundleClient();
  const sync = createEntitySync();
  sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null, scope: 'shared' });

  const files: Record<string, [file: string | (() => string), type: string]> = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
    '/entity-sync-client.js': [() => clientBundle, 'text/javascript; charset=utf-8'],
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://demo').pathname;
    const file = files[path];
    if (req.method === 'GET' && file) {
      const [source, type] = file;
      const body = typeof source === 'function' ? source() : await readFile(new URL(source, PUBLIC));
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (req.method === 'GET' && path === '/api/items') {
      sendJson(res, 200, store.ids());
    } else if (req.method === 'POST' && path.startsWith('/api/items/')) {
      await edit(decodeURIComponent(path.slice('/api/items/'.length)), req, res);
    } else {
      sendJson(res, 404, { error: 'not found' });
    }
  }

  async function edit(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const input = parseEdit(await readBody(req));
    if (!input) return sendJson(res, 400, { error: 'expected {"title"?: string (1-200 chars), "done"?: boolean}' });
    const item = store.update(id, input);
    if (!item) return sendJson(res, 404, { error: `no item ${id}` });
    await sync.notifyAllOfChange({ entity: 'items', id });
    sendJson(res, 200, item);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
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
    store,
    async close() {
      await sync.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function parseEdit(text: string): { title?: string; done?: boolean } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { title, done } = value as { title?: unknown; done?: unknown };
  const edit: { title?: string; done?: boolean } = {};
  if (title !== undefined) {
    if (typeof title !== 'string' || title.trim() === '' || title.length > 200) return undefined;
    edit.title = title.trim();
  }
  if (done !== undefined) {
    if (typeof done !== 'boolean') return undefined;
    edit.done = done;
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

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}
