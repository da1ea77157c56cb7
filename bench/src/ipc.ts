import type { ChildProcess } from 'node:child_process';

/** A request to a child process; `id` is set by {@link Rpc.call}, absent for one-way messages. */
export interface Request {
  t: string;
  id?: number;
  [field: string]: unknown;
}

interface Reply {
  reply: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Parent side: calls into one child over its IPC channel. */
export class Rpc {
  #next = 0;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (message: unknown) => this.#onMessage(message as Reply));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.#exitCode = code;
        for (const p of this.#pending.values()) p.reject(new Error(`${name} exited (code ${code})`));
        this.#pending.clear();
        resolve(code);
      });
    });
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  call<T>(request: Omit<Request, 'id'>, timeoutMs = 120_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running`));
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${request.t} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ ...request, id });
    });
  }

  /** One-way message: no answer, no await. */
  post(request: Omit<Request, 'id'>): void {
    if (this.alive) this.child.send(request);
  }

  #onMessage(message: Reply): void {
    if (typeof message?.reply !== 'number') return;
    const pending = this.#pending.get(message.reply);
    if (!pending) return;
    this.#pending.delete(message.reply);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new Error(`${this.name}: ${message.error}`));
  }
}

export type Handler = (request: Request) => unknown;

/** Child side: answers requests from the parent with `handlers[t]`. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (message: unknown) => {
    const request = message as Request;
    const handler = handlers[request.t];
    if (request.id === undefined) {
      if (handler) handler(request);
      return;
    }
    const id = request.id;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown request ${request.t}`);
        return handler(request);
      })
      .then(
        (result) => process.send?.({ reply: id, ok: true, result }),
        (error: unknown) => process.send?.({ reply: id, ok: false, error: String((error as Error)?.stack ?? error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}
