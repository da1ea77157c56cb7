/**
 * `pnpm --filter @entity-sync/bench micro`: the library's own cost, without sockets. A bridge
 * and a minimal hand-written equivalent (a map of key to sockets, one JSON.stringify per update)
 * run the same job in this process against sockets that only count frames, and the CPU time
 * per delivery and per connect+subscribe is printed with the ratio. It isolates what
 * entity-sync adds on top of the network work both share in `pnpm bench`.
 */
import { createEntitySync, type SocketLike } from '@entity-sync/core';

const CLIENTS = 2_000;
const ROUNDS = 20;

interface Job {
  connect(n: number): Promise<void>;
  notifyAll(): Promise<void>;
  sent(): number;
}

function entitySync(): Job {
  const sync = createEntitySync();
  let version = 0;
  let sent = 0;
  let acks = 0;
  sync.registerEntity('items', { scope: 'shared', fetch: (key) => ({ id: key.id, version, title: 'an item' }) });
  const socket: SocketLike = {
    send: (frame) => {
      sent++;
      if (typeof frame === 'string' && frame.startsWith('{"type":"ack"')) acks++;
    },
    close: () => {},
  };
  const options = { protocol: 'v1' as const };
  let next = 0;
  return {
    async connect(n) {
      const target = acks + n;
      for (let i = 0; i < n; i++) {
        const handle = sync.accept(socket, options);
        handle.receive(`{"action":"subscribe","body":{"entity":"items","id":"k${next++}"},"ref":1}`);
      }
      while (acks < target) await new Promise((resolve) => setImmediate(resolve));
    },
    async notifyAll() {
      version++;
      const all: Array<Promise<void>> = [];
      for (let i = 0; i < next; i++) all.push(sync.notifyAllOfChange({ entity: 'items', id: `k${i}` }));
      await Promise.all(all);
      await new Promise((resolve) => setImmediate(resolve));
    },
    sent: () => sent,
  };
}

function handWritten(): Job {
  const keys = new Map<string, Set<{ send(frame: string): void }>>();
  let version = 0;
  let sent = 0;
  let next = 0;
  const socket = { send: () => void sent++ };
  return {
    async connect(n) {
      for (let i = 0; i < n; i++) {
        const message = JSON.parse(`{"action":"subscribe","body":{"entity":"items","id":"k${next++}"},"ref":1}`);
        const key = `${message.body.entity}/${message.body.id}`;
        let sockets = keys.get(key);
        if (sockets === undefined) keys.set(key, (sockets = new Set()));
        sockets.add(socket);
        socket.send();
        socket.send();
      }
    },
    async notifyAll() {
      version++;
      for (let i = 0; i < next; i++) {
        const key = `items/k${i}`;
        const frame = JSON.stringify({ type: 'data', entity: 'items', id: `k${i}`, data: { id: `k${i}`, version, title: 'an item' } });
        for (const s of keys.get(key) ?? []) s.send(frame);
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
    sent: () => sent,
  };
}

async function measure(make: () => Job): Promise<{ connect: number; delivery: number }> {
  const job = make();
  await job.connect(200); // warm-up
  let t = process.cpuUsage();
  await job.connect(CLIENTS);
  const c = process.cpuUsage(t);
  const before = job.sent();
  t = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) await job.notifyAll();
  const d = process.cpuUsage(t);
  return { connect: (c.user + c.system) / CLIENTS, delivery: (d.user + d.system) / (job.sent() - before) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const es: Array<{ connect: number; delivery: number }> = [];
const hw: Array<{ connect: number; delivery: number }> = [];
for (let run = 0; run < 5; run++) {
  es.push(await measure(entitySync));
  hw.push(await measure(handWritten));
}
const row = (name: string, pick: (r: { connect: number; delivery: number }) => number): string => {
  const a = median(es.map(pick));
  const b = median(hw.map(pick));
  return `| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ×${(a / b).toFixed(1)} | +${(a - b).toFixed(2)} |`;
};
console.log(`CPU µs, median of 5 runs, ${CLIENTS} clients on their own keys, no sockets (frames counted only)\n`);
console.log('| per | entity-sync | hand-written | ratio | added by entity-sync |');
console.log('|---|---:|---:|---:|---:|');
console.log(row('notify + delivery', (r) => r.delivery));
console.log(row('connect + acked subscribe', (r) => r.connect));
process.exit(0);
