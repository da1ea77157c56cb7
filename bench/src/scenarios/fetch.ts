import { sleep } from '../clock.js';
import type { Deployment } from '../deployment.js';
import type { Driver } from '../driver-handle.js';
import { allNodes, type Scenario } from '../scenario.js';

const idOf = (entity: string): string => `f-${entity}`;

/** How much each counter of each node moved over one notify of `entity` from node 0 (and whether clients converged). */
async function countersPerNotify(
  deployment: Deployment,
  driver: Driver,
  entity: string,
): Promise<{ delta: (counter: string) => number[]; converged: number }> {
  const before = await deployment.stats();
  await deployment.update(entity, [idOf(entity)], allNodes(deployment.nodes.length));
  const done = await driver.converge(deployment.expected(), 10_000);
  await sleep(50);
  const after = await deployment.stats();
  return {
    delta: (counter) => after.map((s, i) => (s[counter] ?? 0) - (before[i]![counter] ?? 0)),
    converged: (100 * done.converged) / done.total,
  };
}

/** Fetch calls per node for one notify of `entity`, from node 0. */
async function fetchesPerNotify(deployment: Deployment, driver: Driver, entity: string): Promise<number[]> {
  return (await countersPerNotify(deployment, driver, entity)).delta(`fetch.${entity}`);
}

/** Distinct secrets among the clients of each node (client i: node i % nodes, secret i % secrets). */
function secretsPerNode(nodes: number, clients: number, secrets: number): number[] {
  return Array.from({ length: nodes }, (_, node) => {
    const seen = new Set<number>();
    for (let i = node; i < clients; i += nodes) seen.add(i % secrets);
    return seen.size;
  });
}

export const fetchCalls: Scenario = {
  name: 'fetch',
  description: (s) =>
    `${s.fetch.clientsPerNode} clients per node on one key in each scope, ${s.fetch.secrets} secrets; one notify ` +
    `per scope; then a burst of ${s.fetch.burst} notifies while a 20 ms shared fetch is in flight.`,
  metrics: [
    { key: 'shared', label: 'shared: fetches per node per notify (goal 1)', unit: '', better: 'lower', noRatio: true, digits: 2 },
    {
      key: 'secret',
      label: 'secret: fetches per distinct secret per notify (goal 1)',
      unit: '',
      better: 'lower',
      noRatio: true,
      digits: 2,
    },
    { key: 'client', label: 'client: fetches per connection per notify (goal 1)', unit: '', better: 'lower', noRatio: true, digits: 2 },
    { key: 'burst', label: 'burst: fetches on the notifying node (goal <= 2)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'burstRemote', label: 'burst: fetches on the other node (goal <= 2)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 0 },
  ],
  appliesTo: (t) => t.impl === 'es',
  padBytes: 100,
  async run({ deployment, driver, sizes }) {
    const nodes = deployment.nodes.length;
    const per = sizes.fetch.clientsPerNode;
    const count = per * nodes;
    const secrets = Array.from({ length: sizes.fetch.secrets }, (_, i) => `secret-${i}`);
    const urls = deployment.urls;
    for (const entity of ['items', 'secretItems', 'clientItems', 'slowItems']) {
      await driver.open({ proto: 'es', urls, entity, count, ids: [idOf(entity)], secrets });
    }
    const shared = await fetchesPerNotify(deployment, driver, 'items');
    const secret = await fetchesPerNotify(deployment, driver, 'secretItems');
    const client = await fetchesPerNotify(deployment, driver, 'clientItems');
    const distinct = secretsPerNode(nodes, count, secrets.length);
    const before = await deployment.stats();
    await deployment.update('slowItems', [idOf('slowItems')], allNodes(nodes));
    await sleep(5);
    await deployment.update('slowItems', Array<string>(sizes.fetch.burst).fill(idOf('slowItems')), allNodes(nodes));
    const done = await driver.converge(deployment.expected(), 10_000);
    await sleep(100);
    const after = await deployment.stats();
    const burst = after.map((s, i) => (s['fetch.slowItems'] ?? 0) - (before[i]!['fetch.slowItems'] ?? 0));
    return {
      shared: Math.max(...shared),
      secret: Math.max(...secret.map((f, i) => f / distinct[i]!)),
      client: Math.max(...client.map((f) => f / per)),
      burst: burst[0]!,
      burstRemote: nodes > 1 ? Math.max(...burst.slice(1)) : NaN,
      converged: (100 * done.converged) / done.total,
    };
  },
};

export const viewFetches: Scenario = {
  name: 'views',
  description: (s) =>
    `${s.views.subscribers} subscribers of one key of scope shared with a view, ${s.views.users} users (one secret each, ` +
    'viewBy secret), spread over the nodes; one notify.',
  metrics: [
    { key: 'fetches', label: 'fetches per node per notify (goal 1)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'encodings', label: 'serializations per node per notify (goal <= users)', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'users', label: 'distinct users per node', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'views', label: 'view calls per node per notify', unit: '', better: 'lower', noRatio: true, digits: 0 },
    { key: 'converged', label: 'converged clients', unit: '%', better: 'higher', noRatio: true, digits: 0 },
  ],
  appliesTo: (t) => t.impl === 'es',
  padBytes: 100,
  async run({ deployment, driver, sizes }) {
    const { subscribers, users } = sizes.views;
    const secrets = Array.from({ length: users }, (_, i) => `user-${i}`);
    const entity = 'viewItems';
    await driver.open({ proto: 'es', urls: deployment.urls, entity, count: subscribers, ids: [idOf(entity)], secrets });
    const { delta, converged } = await countersPerNotify(deployment, driver, entity);
    return {
      fetches: Math.max(...delta(`fetch.${entity}`)),
      encodings: Math.max(...delta('encodings')),
      users: Math.max(...secretsPerNode(deployment.nodes.length, subscribers, users)),
      views: Math.max(...delta(`view.${entity}`)),
      converged,
    };
  },
};
