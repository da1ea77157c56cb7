import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { Store, type UpdateBatch } from './store.js';
import { type ServerConfig, SIO_PATH, type TargetServer } from './types.js';

interface Key {
  entity: string;
  id: string;
}

/**
 * Socket.IO 4 as its docs suggest for this job: one room per key, `io.to(room).emit()` on a
 * change; across nodes the Redis adapter carries the emitted packet (data crosses the bus).
 */
export async function startSocketIo(config: ServerConfig): Promise<TargetServer> {
  const store = new Store('x'.repeat(config.padBytes));
  const http = createServer();
  const io = new Server(http, { path: SIO_PATH, transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  let close = async (): Promise<void> => {};
  if (config.broker === 'redis') {
    const { Redis } = await import('ioredis');
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const pub = new Redis(config.brokerUrl ?? '');
    const sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub, { key: config.prefix }));
    close = async () => {
      pub.disconnect();
      sub.disconnect();
    };
  }
  io.on('connection', (socket) => {
    socket.on('subscribe', (body: Key | Key[], ack?: (values: unknown[]) => void) => {
      const keys = Array.isArray(body) ? body : [body];
      for (const key of keys) void socket.join(key.id);
      ack?.(keys.map((key) => ({ type: 'data', entity: key.entity, id: key.id, data: store.get(key.id) })));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    apply(batch: UpdateBatch) {
      for (const item of batch.set) store.set(item);
      for (const id of batch.notify) io.to(id).emit('data', { type: 'data', entity: batch.entity, id, data: store.get(id) });
    },
    stats: () => ({}),
    async close() {
      io.close();
      await close();
    },
  };
}
