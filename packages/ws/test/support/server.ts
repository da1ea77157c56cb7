import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntitySync } from '@entity-sync/core';
import { type AttachOptions, attachWebSocket, type WebSocketAttachment } from '@entity-sync/ws';

export interface RunningServer {
  http: Server;
  transport: WebSocketAttachment;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `sync` on a fresh HTTP server on a free loopback port. */
export async function serve(sync: EntitySync, options: Omit<AttachOptions, 'server' | 'noServer'> = {}): Promise<RunningServer> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const transport = attachWebSocket(sync, { server: http, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    transport,
    port,
    url: `ws://127.0.0.1:${port}${options.path ?? '/ws/entity-sync/'}`,
    async close() {
      await transport.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
