import { createEntitySync, type EntitySync, type EntitySyncOptions } from '@entity-sync/core';
import { type RunningServer as Running, serveHttp, Teardown, TestClient, type TestClientOptions } from '@entity-sync/testing';
import { type AttachOptions, attachWebSocket, type WebSocketAttachment } from '@entity-sync/ws';

export { TestClient };

export type RunningServer = Running<WebSocketAttachment>;

/** Serves `sync` over WebSocket on a fresh HTTP server on a free loopback port. */
export function serve(sync: EntitySync, options: Omit<AttachOptions, 'server' | 'noServer'> = {}): Promise<RunningServer> {
  return serveHttp((server) => attachWebSocket(sync, { server, ...options }), options.path);
}

/** Everything a test started through these helpers, closed in reverse order by {@link closeAll}. */
const leftovers = new Teardown();
export const closeAll = leftovers.run;

export interface Node {
  sync: EntitySync;
  server: RunningServer;
}

/** A bridge served on a free port; `configure` registers its entities. */
export async function startNode(configure: (sync: EntitySync) => void, options: EntitySyncOptions = {}): Promise<Node> {
  const sync = createEntitySync(options);
  configure(sync);
  const server = await serve(sync);
  leftovers.push(sync, server);
  return { sync, server };
}

export async function connect(node: Node, options: TestClientOptions = {}): Promise<TestClient> {
  const client = await TestClient.connect(node.server.url, options);
  leftovers.push(client);
  return client;
}

/** A promise with its resolve function, for fetch handlers that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let refs = 0;
/** Subscribes `client` (v1) to `key` and waits for the ack. */
export async function subscribe(client: TestClient, key: { entity: string; id: string }): Promise<void> {
  const reply = await client.request({ action: 'subscribe', body: key }, `s${++refs}`);
  if (reply.type !== 'ack') throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
}

export async function setSecret(client: TestClient, secret: string): Promise<void> {
  const reply = await client.request({ action: 'secret', body: secret }, `k${++refs}`);
  if (reply.type !== 'ack') throw new Error(`secret failed: ${JSON.stringify(reply)}`);
}
