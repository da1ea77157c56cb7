import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntitySync, type EntitySyncError, type EntitySyncOptions } from '@entity-sync/core';
import { createNotifyHandler, type NotifyHandler, type NotifyHandlerOptions } from '@entity-sync/http';
import { attachWebSocket } from '@entity-sync/ws';
import express from 'express';
import Fastify from 'fastify';
import { TestClient } from '@entity-sync/testing';

/** The three ways the docs mount the handler. */
export type Mount = 'node' | 'express' | 'express+json' | 'fastify';

export const TOKEN = 's3cret-token';

export interface NotifyServer {
  sync: EntitySync;
  /** What the `items` fetch handler returns, by id. */
  store: Map<string, unknown>;
  /** Errors passed to the handler's `onError`. */
  errors: EntitySyncError[];
  port: number;
  /** `http://127.0.0.1:<port>/notify` */
  notifyUrl: string;
  /** Connects a v1 WebSocket client subscribed to `<entity>/<id>` (`items` by default) and waits for the ack. */
  subscribe(id: string, entity?: string): Promise<TestClient>;
  close(): Promise<void>;
}

export interface NotifyServerOptions {
  mount?: Mount;
  sync?: EntitySyncOptions;
  handler?: Partial<NotifyHandlerOptions>;
}

/**
 * A real node on a free loopback port: `createEntitySync` with an `items` entity, the WebSocket
 * transport on `/ws/entity-sync/`, and the notify handler on `/notify`, mounted as `mount` says.
 */
export async function startNotifyServer(options: NotifyServerOptions = {}): Promise<NotifyServer> {
  const store = new Map<string, unknown>();
  const errors: EntitySyncError[] = [];
  const sync = createEntitySync(options.sync);
  sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null });
  const handlerOptions = options.handler?.verify ? { ...options.handler } : { tokens: [TOKEN], ...options.handler };
  const handler = createNotifyHandler(sync, { onError: (e) => errors.push(e), ...handlerOptions });
  const { http, stop } = await listen(options.mount ?? 'node', handler);
  const transport = attachWebSocket(sync, { server: http });
  const port = (http.address() as AddressInfo).port;
  const clients: TestClient[] = [];
  return {
    sync,
    store,
    errors,
    port,
    notifyUrl: `http://127.0.0.1:${port}/notify`,
    async subscribe(id, entity = 'items') {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws/entity-sync/`);
      clients.push(client);
      const ack = await client.request({ action: 'subscribe', body: { entity, id } }, `sub-${id}`);
      if (ack.type !== 'ack') throw new Error(`subscribe failed: ${JSON.stringify(ack)}`);
      return client;
    },
    async close() {
      for (const client of clients) await client.close();
      await transport.close();
      await sync.close();
      http.closeAllConnections();
      await stop();
    },
  };
}

async function listen(mount: Mount, handler: NotifyHandler): Promise<{ http: Server; stop(): Promise<void> }> {
  if (mount === 'fastify') {
    const fastify = Fastify();
    // Take the request in onRequest, before Fastify reads and parses the body.
    fastify.all('/notify', {
      onRequest: (request, reply, done) => {
        reply.hijack();
        handler(request.raw, reply.raw);
        done();
      },
      handler: () => {},
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    return { http: fastify.server, stop: () => fastify.close() };
  }
  let http: Server;
  if (mount === 'node') {
    http = createServer((req, res) => {
      if (req.url === '/notify') handler(req, res);
      else res.writeHead(404).end();
    });
  } else {
    const app = express();
    if (mount === 'express+json') app.use(express.json());
    app.all('/notify', handler);
    http = createServer(app);
  }
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { http, stop: () => new Promise<void>((resolve) => http.close(() => resolve())) };
}
