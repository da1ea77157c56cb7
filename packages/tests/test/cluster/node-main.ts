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
const sync = createEntitySync({ broker: makeBroker(), prefix: config.prefix, onError: () => void errors++ });
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
    }
  } catch (error) {
    send({ type: 'failed', seq: request.seq, message: String(error) });
  }
}

process.on('message', (request: NodeRequest) => void handle(request));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', port: (server.address() as AddressInfo).port });
