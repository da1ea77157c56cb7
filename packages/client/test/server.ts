import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { attachWebSocket, type AttachOptions, type WebSocketAttachment } from '@entity-sync/ws';

export interface Item {
  id: string;
  title: string;
}

/** Application state shared by every server a test starts, as a database would be. */
export class Store {
  readonly items = new Map<string, Item>();
  /** Secrets that may read `secrets/*` entities. */
  readonly admins = new Set<string>(['admin']);
}

export interface TestServer {
  readonly sync: EntitySync;
  readonly wss: WebSocketAttachment;
  readonly port: number;
  readonly url: string;
  /** Closes like a deploy would: sockets get 1001, then the port is released. */
  stop(): Promise<void>;
}

/**
 * A real entity-sync server on loopback: `items` (client scope; value carries the secret it
 * was fetched with), `secrets` (authorize: admins only), `broken` (fetch throws), `itemList` (a
 * query: the items whose title starts with `params.prefix`, invalidated by the tag `items`).
 */
export async function startServer(store: Store, port = 0, attach: Partial<AttachOptions> = {}): Promise<TestServer> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sync = createEntitySync({ fetchTimeoutMs: 2_000 });
  sync.registerEntity('items', {
    fetch: (key, ctx) => {
      const item = store.items.get(key.id);
      return item ? { ...item, seenAs: ctx.secret } : null;
    },
  });
  sync.registerEntity('secrets', {
    fetch: (key) => ({ id: key.id, text: `secret ${key.id}` }),
    authorize: (_key, ctx) => store.admins.has(ctx.secret),
  });
  sync.registerEntity('itemList', {
    params: {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value: unknown) =>
          typeof (value as { prefix?: unknown }).prefix === 'string'
            ? { value: value as { prefix: string } }
            : { issues: [{ message: 'prefix must be a string', path: ['prefix'] }] },
      },
    },
    fetch: (key, ctx) => {
      ctx.dependsOn({ tag: 'items' });
      return [...store.items.values()].filter((item) => item.title.startsWith(key.params.prefix)).map((item) => item.id);
    },
  });
  sync.registerEntity('broken', {
    fetch: () => {
      throw new Error('database down');
    },
  });
  const wss = attachWebSocket(sync, { server: http, ...attach });
  await listen(http, port);
  const actual = (http.address() as AddressInfo).port;
  return {
    sync,
    wss,
    port: actual,
    url: `ws://127.0.0.1:${actual}/ws/entity-sync/`,
    async stop() {
      await sync.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Listens on `port` (0: any free one), retrying briefly if a just-closed port is still busy. */
async function listen(http: Server, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, '127.0.0.1', () => {
          http.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
