import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as wsModule from 'ws';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { createKeyBus, type KeyBus } from './bus.js';
import { Store, type UpdateBatch } from './store.js';
import { ES_PATH, type ServerConfig, type TargetServer } from './types.js';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

/** `ws`'s frame builder (exported by `ws`, missing from its typings). */
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;

/** The underlying TCP socket of a `ws` connection (not in the typings, stable since ws 1). */
function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/**
 * The practical limit: the same job as entity-sync's `shared` scope with nothing else. A map of
 * key to sockets; per update one read, one JSON.stringify, one WebSocket frame; every socket
 * corked for the rest of the tick so a burst leaves as one write per socket.
 */
class Handwritten {
  readonly byKey = new Map<string, Set<WebSocket>>();
  readonly corked = new Set<Socket>();
  bus!: KeyBus;
  entity = 'items';
  unserved = 0;

  constructor(readonly store: Store) {}

  push(id: string): void {
    const sockets = this.byKey.get(id);
    if (!sockets) return;
    const json = `{"type":"data","entity":"${this.entity}","id":${JSON.stringify(id)},"data":${JSON.stringify(this.store.get(id))}}`;
    const frame = Buffer.concat(Sender.frame(Buffer.from(json), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
    if (this.corked.size === 0) process.nextTick(() => this.uncorkAll());
    for (const ws of sockets) {
      const socket = rawSocket(ws);
      if (!this.corked.has(socket)) {
        socket.cork();
        this.corked.add(socket);
      }
      socket.write(frame);
    }
  }

  /** A change from another node: the broker should only send keys this node serves. */
  fromBus(id: string): void {
    if (!this.byKey.has(id)) this.unserved++;
    this.push(id);
  }

  uncorkAll(): void {
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  }

  async subscribe(ws: WebSocket, id: string): Promise<void> {
    let sockets = this.byKey.get(id);
    if (!sockets) {
      sockets = new Set();
      this.byKey.set(id, sockets);
      await this.bus.subscribe(id);
    }
    sockets.add(ws);
    const value = JSON.stringify(this.store.get(id));
    ws.send(`{"type":"data","entity":"${this.entity}","id":${JSON.stringify(id)},"data":${value}}`);
  }

  drop(ws: WebSocket, ids: Set<string>): void {
    for (const id of ids) {
      const sockets = this.byKey.get(id);
      if (!sockets) continue;
      sockets.delete(ws);
      if (sockets.size === 0) {
        this.byKey.delete(id);
        this.bus.unsubscribe(id);
      }
    }
  }

  async onMessage(ws: WebSocket, ids: Set<string>, data: RawData): Promise<void> {
    const msg = JSON.parse(String(data)) as { action: string; body: unknown; ref?: unknown };
    if (msg.action === 'subscribe') {
      const keys = (Array.isArray(msg.body) ? msg.body : [msg.body]) as Array<{ entity: string; id: string }>;
      for (const key of keys) {
        this.entity = key.entity;
        ids.add(key.id);
        await this.subscribe(ws, key.id);
      }
    }
    if (msg.ref !== undefined) ws.send(`{"type":"ack","ref":${JSON.stringify(msg.ref)}}`);
  }
}

export async function startHandwritten(config: ServerConfig): Promise<TargetServer> {
  const server = new Handwritten(new Store('x'.repeat(config.padBytes)));
  server.bus = await createKeyBus(config.broker, config.brokerUrl, config.prefix, (id) => server.fromBus(id));
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    path: ES_PATH,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has('entity-sync.v1') ? 'entity-sync.v1' : false),
  });
  wss.on('connection', (ws) => {
    const ids = new Set<string>();
    ws.on('message', (data) => void server.onMessage(ws, ids, data).catch(() => ws.close(1011)));
    ws.on('close', () => server.drop(ws, ids));
    ws.on('error', () => ws.terminate());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    apply(batch: UpdateBatch) {
      server.entity = batch.entity;
      for (const item of batch.set) server.store.set(item);
      for (const id of batch.notify) {
        server.push(id);
        server.bus.publish(id);
      }
    },
    stats: () => ({ busReceived: server.bus.received, busUnserved: server.unserved }),
    async close() {
      wss.close();
      http.close();
      await server.bus.close();
    },
  };
}
