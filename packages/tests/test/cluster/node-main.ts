// One entity-sync node in its own process, for the multi-process cluster tests. Configured by
// the ES_NODE env var (JSON); talks to the test over the IPC channel.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Broker, createEntitySync } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';
import { attachWebSocket } from '@entity-sync/ws';
import type { NodeConfig, NodeReply, NodeRequest } from './protocol.js';

const config = JSON.parse(process.env['ES_NODE'] ?? '{}') as NodeConfig;

function makeBroker(): Broker {
  if (config.broker === 'nats') return createNatsBroker({ servers: config.urls });
  if (config.broker === 'redis') return createRedisBroker({ url: config.urls[0]! });
  const cluster = config.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) }));
  return createRedisBroker({ cluster, sharded: true });
}

let errors = 0;
/** `guarded` keys refused, as `s:<secret>/<id>` or `u:<userId>/<id>`. */
const denied = new Set<string>();
let guardedFetches = 0;
const sync = createEntitySync({
  broker: makeBroker(),
  prefix: config.prefix,
  onError: () => void errors++,
  ...(config.access ? { identify: (secret: string) => (secret.includes('.') ? { id: secret.split('.')[0]! } : null) } : {}),
});
sync.registerEntity('items', {
  scope: 'shared',
  fetch: async (key) => {
    const response = await fetch(`${config.storeUrl}/${encodeURIComponent(key.id)}`);
    return (await response.json()) as unknown;
  },
});

// For the secret-change race: a value fetched per connection with its secret, which
// `authorize` allows only under the secret 'good'.
sync.registerEntity('secured', {
  fetch: (key, ctx) => ({ id: key.id, as: ctx.secret }),
  authorize: (_key, ctx) => ctx.secret === 'good',
});

// For the revocation tests: refused to whoever the test denied; synchronous, so a change's
// frames are written before the next bus message is handled. Each fetch gives a new value.
if (config.access) {
  sync.registerEntity('guarded', {
    scope: 'secret',
    fetch: (key, ctx) => ({ id: key.id, as: ctx.secret, n: ++guardedFetches }),
    authorize: (key, ctx) => !denied.has(`s:${ctx.secret}/${key.id}`) && !denied.has(`u:${ctx.user?.id ?? ''}/${key.id}`),
  });
}

const server = createServer((_req, res) => res.writeHead(404).end());
attachWebSocket(sync, { server });
await sync.ready();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const send = (reply: NodeReply): void => void process.send?.(reply);

async function handle(request: NodeRequest): Promise<void> {
  try {
    if (request.type === 'notify') {
      await sync.notifyAllOfChange(request.ids.map((id) => ({ entity: request.entity ?? 'items', id })));
      send({ type: 'done', seq: request.seq });
    } else if (request.type === 'stats') {
      send({ type: 'stats', seq: request.seq, stats: { ...sync.stats(), errors } });
    } else if (request.type === 'deny') {
      const { denial } = request;
      denied.add('secret' in denial ? `s:${denial.secret}/${denial.id}` : `u:${denial.userId}/${denial.id}`);
      send({ type: 'done', seq: request.seq });
    } else if (request.type === 'reauthorize') {
      await sync.reauthorize(request.filter);
      send({ type: 'done', seq: request.seq });
    } else if (request.type === 'revoke') {
      await sync.revoke(request.filter, request.code === undefined ? {} : { code: request.code });
      send({ type: 'done', seq: request.seq });
    }
  } catch (error) {
    send({ type: 'failed', seq: request.seq, message: String(error) });
  }
}

process.on('message', (request: NodeRequest) => void handle(request));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', port: (server.address() as AddressInfo).port });
