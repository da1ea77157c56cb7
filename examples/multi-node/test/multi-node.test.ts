// Runs the example as a user would: its `start` and `watch` scripts (read from package.json, so
// the test follows them), as child processes on free ports, against the run's nats-server and
// redis-server. A write through node A must reach clients connected to node B, and back.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@entity-sync/client';
import { freePort } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { Item } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };

/** A package script run without pnpm in between: `tsx ...` -> `node_modules/.bin/tsx ...`. */
class ScriptProcess {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;

  constructor(script: string, env: Record<string, string>) {
    const [bin, ...args] = scripts[script]!.split(' ');
    // Own process group, so a failed test can still stop everything the script started.
    this.child = spawn(`${root}node_modules/.bin/${bin}`, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        this.output.push(...lines);
      });
    }
  }

  has(pattern: RegExp): boolean {
    return this.output.some((line) => pattern.test(line));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL to the whole process group, when a test failed before a clean stop. */
  killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const setups: [string, () => Record<string, string>][] = [
  ['nats', () => ({ BROKER: 'nats', NATS_URL: inject('natsUrl') })],
  ['redis', () => ({ BROKER: 'redis', REDIS_URL: inject('redisUrl') })],
];

describe.each(setups)('examples/multi-node with BROKER=%s', (_, brokerEnv) => {
  const processes: ScriptProcess[] = [];
  const clients: Client<{ items: Item }>[] = [];
  let example: ScriptProcess;
  let ports: { a: number; b: number };

  beforeAll(async () => {
    ports = { a: await freePort(), b: await freePort() };
    const env = { ...brokerEnv(), PORT_A: String(ports.a), PORT_B: String(ports.b) };
    example = new ScriptProcess('start', env);
    processes.push(example);
    await vi.waitFor(
      () => {
        if (!example.running) throw new Error(`the example exited:\n${example.output.join('\n')}`);
        expect(example.has(/^\[main\] ready/)).toBe(true);
      },
      { timeout: 30_000, interval: 50 },
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const p of processes) p.killGroup();
  });

  const wsUrl = (port: number): string => `ws://127.0.0.1:${port}/ws/entity-sync/`;

  /** A client on one node; returns the latest value it got for `items/<id>`. */
  function watch(port: number, id: string): () => Item | null | undefined {
    let latest: Item | null | undefined;
    const client = createClient<{ items: Item }>({ url: wsUrl(port), WebSocket, retry: { minDelayMs: 20 } });
    clients.push(client);
    client.subscribe({ entity: 'items', id }, (item) => (latest = item));
    return () => latest;
  }

  async function edit(port: number, id: string, body: object): Promise<Item> {
    const response = await fetch(`http://127.0.0.1:${port}/api/items/${id}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Item;
  }

  it('a write through node A reaches a client on node B (and the `watch` script), and back', async () => {
    const onB = watch(ports.b, '2');
    const onA = watch(ports.a, '2');
    const watcher = new ScriptProcess('watch', { WATCH_URLS: wsUrl(ports.b), IDS: '2' });
    processes.push(watcher);
    await expect.poll(() => onB()?.version, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => onA()?.version, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => watcher.has(/items\/2 snapshot/), { timeout: 20_000 }).toBe(true);

    const title = `written through A at ${Date.now()}`;
    expect(await edit(ports.a, '2', { title })).toMatchObject({ title, version: 2 });
    await expect.poll(() => onB()?.title, { timeout: 5_000, interval: 10 }).toBe(title);
    await expect.poll(() => watcher.has(new RegExp(`items/2 update +"${title}"`)), { timeout: 5_000 }).toBe(true);

    expect(await edit(ports.b, '2', { done: true })).toMatchObject({ title, done: true, version: 3 });
    await expect.poll(() => onA()?.done, { timeout: 5_000, interval: 10 }).toBe(true);
    expect(onA()?.version).toBe(3);
    await expect.poll(() => example.has(/^\[node A\] wrote items\/2/)).toBe(true);
    await expect.poll(() => example.has(/^\[node B\] wrote items\/2/)).toBe(true);

    // Ctrl-C-like stop: the watch client and the example exit cleanly, no node left behind.
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
    const pids = example.output.flatMap((line) => /^\[node [AB]\] pid (\d+)/.exec(line)?.[1] ?? []).map(Number);
    expect(pids).toHaveLength(2);
    example.child.kill('SIGTERM');
    expect(await example.exited).toBe(0);
    await expect.poll(() => pids.filter(isAlive), { timeout: 5_000 }).toEqual([]);
    expect(example.output.filter((line) => /error/i.test(line))).toEqual([]);
  }, 60_000);
});
