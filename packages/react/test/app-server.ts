import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { tapClientFrames } from '@entity-sync/testing';
import { attachWebSocket } from '@entity-sync/ws';
import { build } from 'esbuild';

const PAGE =
  '<!doctype html><meta charset="utf-8"><title>entity-sync react test</title><div id="root"></div><script type="module" src="/app.js"></script>';

export interface AppServer {
  readonly url: string;
  readonly sync: EntitySync;
  /** The items the `items` fetch handler reads, as a database would hold them. */
  readonly items: Map<string, { id: string; title: string }>;
  /** While `true`, upgrades are refused with 401 (the browser sees 1006 and retries). */
  refuse: boolean;
  /** Subscribe/unsubscribe frames received, per `action entity/id`, across all connections. */
  frames(action: 'subscribe' | 'unsubscribe', id: string): number;
  resetFrames(): void;
  /** Cuts every WebSocket connection, as a network failure would (the clients see 1006). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Bundles the React app from source (development build, so StrictMode double-mounts). */
async function bundleApp(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('app/app.tsx', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    conditions: ['@entity-sync/source'],
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The page, its bundle and a real entity-sync node on one loopback port. */
export async function startAppServer(): Promise<AppServer> {
  const bundle = await bundleApp();
  const sync = createEntitySync();
  const items = new Map([
    ['1', { id: '1', title: 'one' }],
    ['2', { id: '2', title: 'two' }],
    ['3', { id: '3', title: 'three' }],
  ]);
  sync.registerEntity('items', { fetch: (key) => items.get(key.id) ?? null, scope: 'shared' });
  const http: Server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(404).end();
  });
  const tap = tapClientFrames(sync);
  const server: AppServer = {
    url: '',
    sync,
    items,
    refuse: false,
    frames: (action, id) => tap.count(action, `items/${id}`),
    resetFrames: () => tap.reset(),
    dropConnections: () => {
      for (const socket of wss.wss.clients) socket.terminate();
    },
    async close() {
      await sync.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  const wss = attachWebSocket(sync, { server: http, authenticate: () => (server.refuse ? false : undefined) });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/` });
}
