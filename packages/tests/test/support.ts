import { createEntitySync, type EntitySync, type EntitySyncOptions } from '@entity-sync/core';
import { type RunningServer, serve } from '../../ws/test/support/server.js';
import { TestClient, type TestClientOptions } from '../../ws/test/support/test-client.js';

export { TestClient };

/** Everything a test started, closed in reverse order by {@link closeAll}. */
const leftovers: Array<{ close(): Promise<void> }> = [];

export async function closeAll(): Promise<void> {
  for (const item of leftovers.splice(0).reverse()) await item.close();
}

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
