import { sleep } from '../clock.js';
import type { Scenario } from '../scenario.js';

const KB = 1024;

/**
 * `connect` and `memory` in one pass on a fresh deployment: the rate at which clients open
 * and get their subscribe acked, then what the idle connections cost the servers after GC.
 */
export const memory: Scenario = {
  name: 'connect+memory',
  description: (s) =>
    `${s.memory.connections} clients connect (200 at a time) and subscribe to one key each; then, idle, ` +
    'the servers run a full GC and report RSS and heap (sum over nodes, minus the same reading before).',
  metrics: [
    {
      key: 'connectPerSec',
      label: 'connect: connections + acked subscribe per second',
      unit: '/s',
      better: 'higher',
      goal: 0.9,
      digits: 0,
    },
    { key: 'rssPerConn', label: 'memory: RSS per connection', unit: 'KB', better: 'lower', goal: 1.3, digits: 1 },
    { key: 'heapPerConn', label: 'memory: heap per connection', unit: 'KB', better: 'lower', goal: 1.5, digits: 1 },
  ],
  appliesTo: () => true,
  padBytes: 100,
  async run({ target, deployment, driver, sizes }) {
    const n = sizes.memory.connections;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const before = await deployment.mem(true);
    const { ms } = await driver.open({
      proto: target.impl === 'sio' ? 'sio' : 'es',
      urls: deployment.urls,
      entity: 'items',
      count: n,
      own: { first: 0 },
    });
    await sleep(500);
    const after = await deployment.mem(true);
    return {
      connectPerSec: (n / ms) * 1000,
      rssPerConn: (sum(after.map((m) => m.rss)) - sum(before.map((m) => m.rss))) / n / KB,
      heapPerConn: (sum(after.map((m) => m.heap)) - sum(before.map((m) => m.heap))) / n / KB,
    };
  },
};
