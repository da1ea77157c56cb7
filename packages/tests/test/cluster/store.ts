import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fake database every node reads through HTTP: `GET /<id>` -> `{ id, v }` (v = version). */
export class Store {
  readonly versions = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Store> {
    let store: Store | undefined;
    const server = createServer((req, res) => {
      const id = decodeURIComponent((req.url ?? '/').slice(1));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id, v: store?.versions.get(id) ?? 0 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    store = new Store(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return store;
  }

  /** A write: bumps the version of `id` and returns it. */
  write(id: string): number {
    const v = (this.versions.get(id) ?? 0) + 1;
    this.versions.set(id, v);
    return v;
  }

  version(id: string): number {
    return this.versions.get(id) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
