import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for `delayMs` in each direction, so a broker on
 * loopback behaves like one in another zone (a subscribe confirmation takes a round trip of
 * `2 x delayMs`). Order within each direction is kept.
 */
export class LatencyProxy {
  private constructor(
    readonly server: Server,
    readonly port: number,
    readonly sockets: Set<Socket>,
  ) {}

  static async start(target: { host?: string; port: number }, delayMs: number): Promise<LatencyProxy> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(target.port, target.host ?? '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      pipeDelayed(client, upstream, delayMs);
      pipeDelayed(upstream, client, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new LatencyProxy(server, (server.address() as AddressInfo).port, sockets);
  }

  /** Closes the listener and every proxied connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}
