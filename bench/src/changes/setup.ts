import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forkTs, type PostgresServer, startPostgres } from '@entity-sync/testing';
import pg from 'pg';
import type { NodeAnswer, NodeCommand } from './node-main.js';

/** Rows of the bench table. */
export const ROWS = 1_000;

const NODE_MAIN = fileURLToPath(new URL('./node-main.ts', import.meta.url));

/** A Postgres with the bench table, a pool to write with, and one node process with its source. */
export class ChangesRig {
  #seq = 0;
  readonly #pending = new Map<number, (answer: NodeAnswer) => void>();

  private constructor(
    readonly postgres: PostgresServer,
    readonly pool: pg.Pool,
    readonly node: ChildProcess,
    readonly port: number,
  ) {
    node.on('message', (answer: NodeAnswer) => {
      if (answer.type !== 'done') return;
      this.#pending.get(answer.seq)?.(answer);
      this.#pending.delete(answer.seq);
    });
  }

  static async start(): Promise<ChangesRig> {
    const postgres = await startPostgres();
    const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
    pool.on('error', () => {});
    await pool.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)');
    await pool.query(`INSERT INTO items SELECT g, 0 FROM generate_series(0, ${ROWS - 1}) g`);
    const node = forkTs(NODE_MAIN, { ES_CHANGES_PG: postgres.url });
    const port = await new Promise<number>((resolve, reject) => {
      node.on('message', (answer: NodeAnswer) => answer.type === 'ready' && resolve(answer.port));
      node.once('exit', (code) => reject(new Error(`the bench node exited (${code})`)));
    });
    return new ChangesRig(postgres, pool, node, port);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws/entity-sync/`;
  }

  /** Starts or closes the node's source, or reads how many keys it notified since its start. */
  async command(type: NodeCommand['type']): Promise<number> {
    const seq = ++this.#seq;
    const answer = new Promise<NodeAnswer>((resolve) => this.#pending.set(seq, resolve));
    this.node.send({ type, seq } satisfies NodeCommand);
    const done = await answer;
    return done.type === 'done' ? done.notified : 0;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.node.once('exit', resolve));
    this.node.kill('SIGKILL');
    await exited;
    await this.pool.end();
    await this.postgres.stop();
  }
}
