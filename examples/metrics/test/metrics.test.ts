// Runs the example as a user would: its `start` script (read from package.json) as a child
// process on a free port, on a nats-server of its own (stopped and started again for the health
// check), with a real @entity-sync/client. Scrapes /metrics like Prometheus, asks /healthz like a
// load balancer, and stops the node with SIGTERM like an orchestrator.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@entity-sync/client';
import { freePort, type NatsServer, startNats } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };

let nats: NatsServer;
let child: ChildProcess;
let exited: Promise<number | null>;
let client: Client<{ items: { id: string; title: string } }>;
let base = '';
const output: string[] = [];

/** `pnpm start` without pnpm in between: `tsx ...` -> `node_modules/.bin/tsx ...`. */
function start(env: Record<string, string>): void {
  const [bin, ...args] = scripts['start']!.split(' ');
  child = spawn(`${root}node_modules/.bin/${bin}`, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!])
    stream.setEncoding('utf8').on('data', (chunk: string) => output.push(...chunk.split('\n')));
}

/** The samples of a scrape: `name{labels}` -> value. */
async function scrape(): Promise<Map<string, number>> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith('#')) samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

async function health(): Promise<{ status: number; body: { status: string; stats: Record<string, unknown> } }> {
  const response = await fetch(`${base}/healthz`);
  return { status: response.status, body: (await response.json()) as never };
}

beforeAll(async () => {
  nats = await startNats();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  start({ PORT: String(port), NATS_URL: nats.url });
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the example exited:\n${output.join('\n')}`);
      expect(output.some((line) => line.startsWith('ready:'))).toBe(true);
    },
    { timeout: 30_000, interval: 50 },
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await nats?.stop();
});

describe('examples/metrics', () => {
  it('serves the series on /metrics, the bus status on /healthz, and exits cleanly on SIGTERM', async () => {
    const closes: number[] = [];
    const errors: unknown[] = [];
    client = createClient({ url: `ws${base.slice(4)}/ws/entity-sync/`, WebSocket, retry: { minDelayMs: 20 } });
    client.on('state', (state, detail) => state === 'reconnecting' && detail?.code !== undefined && closes.push(detail.code));
    client.on('error', (error) => errors.push(error));
    let title: string | undefined;
    client.subscribe({ entity: 'items', id: '1' }, (item) => (title = item?.title));
    await expect.poll(() => title, { timeout: 10_000 }).toBe('first');

    const edit = await fetch(`${base}/api/items/1`, { method: 'POST', body: JSON.stringify({ title: 'second' }) });
    expect(edit.status).toBe(204);
    await expect.poll(() => title, { timeout: 10_000 }).toBe('second');

    const samples = await scrape();
    expect(samples.get('entity_sync_connections')).toBe(1);
    expect(samples.get('entity_sync_subscriptions')).toBe(1);
    expect(samples.get('entity_sync_keys')).toBe(1);
    expect(samples.get('entity_sync_bus_up')).toBe(1);
    expect(samples.get('entity_sync_connections_opened_total{protocol="v1"}')).toBe(1);
    expect(samples.get('entity_sync_fetches_total{entity="items",outcome="ok"}')).toBe(2); // the subscribe, the edit
    expect(samples.get('entity_sync_fetch_duration_seconds_count{entity="items"}')).toBe(2);
    expect(samples.get('entity_sync_freshness_seconds_count{entity="items"}')).toBe(1);
    expect(samples.get('entity_sync_bus_messages_published_total')).toBe(1);
    expect(samples.get('entity_sync_frames_sent_total')).toBeGreaterThanOrEqual(3); // ack, two values
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0); // prom-client's defaults beside ours

    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok', stats: { bus: 'up', connections: 1 } } });
    await nats.stop();
    await expect.poll(async () => (await health()).status, { timeout: 15_000 }).toBe(503);
    expect(await health()).toMatchObject({ body: { status: 'bus down', stats: { bus: 'down' } } });
    expect((await scrape()).get('entity_sync_bus_up')).toBe(0);
    await nats.start();
    await expect.poll(async () => (await health()).status, { timeout: 15_000 }).toBe(200);
    const after = await scrape();
    expect(after.get('entity_sync_bus_status_changes_total{status="down"}')).toBe(1);
    expect(after.get('entity_sync_resyncs_total{reason="bus"}')).toBe(2); // at start, and after the outage
    expect(after.get('entity_sync_resynced_keys_total{reason="bus"}')).toBe(1);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('closed');
    await expect.poll(() => closes).toContain(1001); // the client was told the node is going away
    expect(errors).toEqual([]);
  }, 60_000);
});
