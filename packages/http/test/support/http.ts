import { connect } from 'node:net';
import { TOKEN } from './notify-server.js';

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** `POST`s `body` (a string is sent as is, anything else as JSON) with the test token. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** `fetch`, with the body parsed as JSON. */
export async function request(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

export interface RawExchange {
  /** Everything the server sent before it closed the connection (or before `stop`). */
  response: Promise<string>;
  /** Bytes of body written so far. */
  written(): number;
  /** What the server sent so far. */
  received(): string;
  socket: ReturnType<typeof connect>;
}

/**
 * A raw HTTP/1.1 client: sends `head` (the request line and headers), then keeps writing body
 * chunks from `chunk()` every `everyMs` until the server answers or closes. `response` resolves
 * with what the server sent once it closed the connection.
 */
export function rawRequest(port: number, head: string, chunk: (() => string) | undefined, everyMs = 5): RawExchange {
  const socket = connect(port, '127.0.0.1');
  let written = 0;
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('error', () => {}); // the server may reset a connection it stopped reading
  socket.on('data', (data) => {
    received += data.toString('latin1');
  });
  socket.write(head);
  if (chunk !== undefined) {
    timer = setInterval(() => {
      if (received !== '' || socket.destroyed || !socket.writable) return clearInterval(timer);
      const data = chunk();
      written += Buffer.byteLength(data);
      socket.write(data);
    }, everyMs);
  }
  const response = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    }),
  );
  return { response, written: () => written, received: () => received, socket };
}
