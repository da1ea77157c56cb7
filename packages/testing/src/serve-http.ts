import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a transport attached to an HTTP server must offer a test. */
export interface Closeable {
  close(): Promise<void>;
}

export interface RunningServer<T extends Closeable = Closeable> {
  http: Server;
  /** What `attach` returned (e.g. the `WebSocketAttachment`). */
  transport: T;
  port: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url: string;
  /** Closes the transport, then every HTTP connection, then the server. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on a free loopback port (other requests get 404), attaches a transport
 * to it with `attach`, and returns both. `@entity-sync/testing` does not depend on a transport
 * package, so a caller passes e.g. `(server) => attachWebSocket(sync, { server })`.
 */
export async function serveHttp<T extends Closeable>(attach: (server: Server) => T, path = '/ws/entity-sync/'): Promise<RunningServer<T>> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const transport = attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    transport,
    port,
    url: `ws://127.0.0.1:${port}${path}`,
    async close() {
      await transport.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
