// The example's "database": a tiny HTTP service holding items in memory. It is the one piece
// of state both nodes share (as a real app's nodes share their database); the nodes are
// stateless and read every value through it.
//
//   GET   /items/:id                         -> the item, or 404
//   PATCH /items/:id  {"title"?, "done"?}    -> the edited item (version + 1), or 404 / 400
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Item, readBody } from './config.js';

const INITIAL: Omit<Item, 'version'>[] = [
  { id: '1', title: 'Start two nodes on one broker', done: true },
  { id: '2', title: 'Edit through node A, watch node B', done: false },
  { id: '3', title: 'Kill a node, watch the client move', done: false },
];

export interface Store {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStore(port = 0, host = '127.0.0.1'): Promise<Store> {
  const items = new Map(INITIAL.map((item) => [item.id, { ...item, version: 1 }]));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://store').pathname;
    const id = path.startsWith('/items/') ? decodeURIComponent(path.slice('/items/'.length)) : undefined;
    const item = id === undefined ? undefined : items.get(id);
    if (id === undefined) return send(res, 404, { error: 'not found' });
    if (req.method === 'GET') return item ? send(res, 200, item) : send(res, 404, { error: `no item ${id}` });
    if (req.method !== 'PATCH') return send(res, 405, { error: 'GET or PATCH' });
    const edit = parseEdit(await readBody(req));
    if (!edit) return send(res, 400, { error: 'expected {"title"?: string (1-200 chars), "done"?: boolean}' });
    if (!item) return send(res, 404, { error: `no item ${id}` });
    const next = { ...item, ...edit, version: item.version + 1 };
    items.set(id, next);
    send(res, 200, next);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function parseEdit(text: string): { title?: string; done?: boolean } | undefined {
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

export function send(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}
