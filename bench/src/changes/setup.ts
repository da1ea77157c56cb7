import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntityKey, type EntitySync } from '@entity-sync/core';
import { createPostgresSource } from '@entity-sync/postgres';
import { type PostgresServer, startPostgres } from '@entity-sync/testing';
import { attachWebSocket } from '@entity-sync/ws';
import pg from 'pg';

/** Rows of the bench table. */
export const ROWS = 1_000;

/** A Postgres with the bench table, a pool to write with, and one node with its source. */
export class ChangesRig {
  notified = 0;

  private constructor(
    readonly postgres: PostgresServer,
    readonly pool: pg.Pool,
    readonly reads: pg.Pool,
    readonly sync: EntitySync,
    readonly http: Server,
  ) {}

  static async start(): Promise<ChangesRig> {
    const postgres = await startPostgres();
    const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
    pool.on('error', () => {});
    await pool.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, t double precision NOT NULL)');
    await pool.query(`INSERT INTO items SELECT g, 0, 0 FROM generate_series(0, ${ROWS - 1}) g`);
    const reads = new pg.Pool({ connectionString: postgres.url, max: 8 });
    reads.on('error', () => {});
    const sync = createEntitySync({ fetchTimeoutMs: 10_000 });
    sync.registerEntity('items', {
      scope: 'shared',
      fetch: async (key) => (await reads.query('SELECT id, v FROM items WHERE id = $1', [key.id])).rows[0] ?? null,
    });
    const http = createServer();
    attachWebSocket(sync, { server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return new ChangesRig(postgres, pool, reads, sync, http);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/ws/entity-sync/`;
  }

  /** A source on the slot `changes` that counts the keys it notifies through the node. */
  source() {
    const target = {
      notifyAllOfChange: (keys: EntityKey | readonly EntityKey[]) => {
        this.notified += [keys].flat().length;
        return this.sync.notifyAllOfChange(keys);
      },
      resyncAll: () => this.sync.resyncAll(),
    };
    return createPostgresSource(target, {
      connection: this.postgres.url,
      slot: 'changes',
      publication: 'changes',
      tables: { 'public.items': (row, old) => [{ entity: 'items', id: String((row ?? old)?.['id']) }] },
    });
  }

  async stop(): Promise<void> {
    await this.sync.close();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
    await this.pool.end();
    await this.reads.end();
    await this.postgres.stop();
  }
}
