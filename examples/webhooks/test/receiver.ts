import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  id: string;
  attempt: number;
  body: Record<string, unknown>;
}

/** How the receiver answers request number `n` (0-based): a status, `'drop'` (cut the connection) or `'hold'` (until `release`). */
export type Behaviour = (n: number) => number | 'drop' | 'hold';

/** A webhook receiver on a free loopback port that records every request and answers as `behaviour` says. */
export class Receiver {
  readonly received: Received[] = [];
  readonly #held: ServerResponse[] = [];
  #count = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
  ) {}

  static async start(behaviour: Behaviour): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => void receiver!.#handle(req, res, behaviour));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    return receiver;
  }

  /** Answers every held request with 200. */
  release(): void {
    for (const res of this.#held.splice(0)) res.writeHead(200).end();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse, behaviour: Behaviour): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    this.received.push({
      id: String(req.headers['x-webhook-id']),
      attempt: Number(req.headers['x-webhook-attempt']),
      body: JSON.parse(text),
    });
    const answer = behaviour(this.#count++);
    if (answer === 'drop') res.socket?.destroy();
    else if (answer === 'hold') this.#held.push(res);
    else res.writeHead(answer).end();
  }
}
