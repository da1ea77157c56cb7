/** Entry of one server process: starts a target and answers the orchestrator over IPC. */
import { serve } from './ipc.js';
import type { UpdateBatch } from './targets/store.js';
import type { ServerConfig, TargetServer } from './targets/types.js';

async function start(config: ServerConfig): Promise<TargetServer> {
  if (config.impl === 'es') return (await import('./targets/entity-sync.js')).startEntitySync(config);
  if (config.impl === 'ws') return (await import('./targets/handwritten.js')).startHandwritten(config);
  return (await import('./targets/socketio.js')).startSocketIo(config);
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) for (let i = 0; i < 3; i++) collect();
}

/**
 * Applies each update of `batch.set` (write, then notify) in its own macrotask, all queued in one
 * turn of the event loop: back to back, yet none arrives while the previous one's fetch runs
 * (`frames` scenario). Resolves once the last one ran.
 */
function spaced(target: TargetServer, batch: UpdateBatch): Promise<void> {
  return new Promise((resolve) => {
    for (const item of batch.set) setImmediate(() => target.apply({ entity: batch.entity, set: [item], notify: [item[0]] }));
    setImmediate(resolve);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  const target = await start(config);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  sampler.unref();
  serve({
    update: (r) => target.apply(r['batch'] as UpdateBatch),
    spaced: (r) => spaced(target, r['batch'] as UpdateBatch),
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    mem: (r) => {
      if (r['gc']) gc();
      const { rss, heapUsed } = process.memoryUsage();
      const peak = peakRss;
      peakRss = rss;
      return { rss, heap: heapUsed, peakRss: Math.max(peak, rss) };
    },
    stats: () => target.stats(),
    drain: (r) => target.drain?.(Number(r['ms'])),
    probe: async (r) => (await import('./targets/entity-sync.js')).fetchedSeqs(String(r['id'])),
    close: async () => {
      await Promise.race([target.close(), new Promise((r) => setTimeout(r, 1_000))]);
      setImmediate(() => process.exit(0));
    },
  });
  process.send?.({ t: 'ready', port: target.port });
}

main().catch((error: unknown) => {
  process.send?.({ t: 'failed', error: String((error as Error)?.stack ?? error) });
  setTimeout(() => process.exit(1), 100);
});
