import { connect } from 'node:net';

/** A RESP reply of the kinds the test harness needs (no nested arrays). */
export type RespReply = string | number | null | RespReply[];

function encode(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const value = String(arg);
    out += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
  }
  return out;
}

/** Parses one reply from `buf` at `pos`; returns it and the next position, or undefined if incomplete. */
function parse(buf: string, pos: number): [RespReply, number] | undefined {
  const end = buf.indexOf('\r\n', pos);
  if (end < 0) return undefined;
  const head = buf[pos];
  const line = buf.slice(pos + 1, end);
  if (head === '+') return [line, end + 2];
  if (head === '-') throw new Error(line);
  if (head === ':') return [Number(line), end + 2];
  if (head === '$') {
    const len = Number(line);
    if (len < 0) return [null, end + 2];
    if (buf.length < end + 2 + len + 2) return undefined;
    return [buf.slice(end + 2, end + 2 + len), end + 2 + len + 2];
  }
  if (head === '*') {
    const items: RespReply[] = [];
    let at = end + 2;
    for (let i = 0; i < Number(line); i++) {
      const item = parse(buf, at);
      if (!item) return undefined;
      items.push(item[0]);
      at = item[1];
    }
    return [items, at];
  }
  throw new Error(`unexpected RESP reply: ${buf.slice(pos, pos + 40)}`);
}

/**
 * Sends one command to a Redis server on 127.0.0.1 over a fresh connection and resolves with
 * its reply (ASCII replies only). Enough for readiness probes and cluster setup; the tests
 * themselves use ioredis.
 */
export function redisCommand(port: number, ...args: (string | number)[]): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('redis command timed out')));
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      try {
        const reply = parse(buf, 0);
        if (!reply) return;
        socket.end();
        resolve(reply[0]);
      } catch (error) {
        socket.destroy();
        reject(error);
      }
    });
    socket.write(encode(args));
  });
}
