import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { followChanges } from './follow.js';
import type { WebhookRelayOptions } from './relay-options.js';
import { WebhookRelay } from './webhook-relay.js';

export interface WebhookNode {
  sync: EntitySync;
  relay: WebhookRelay;
  /** What the `items` fetch handler reads, by id. */
  items: Map<string, { id: string; title: string }>;
  /** `http://127.0.0.1:<port>/`: `POST /api/items/:id {"title"}` writes an item and notifies. */
  url: string;
  close(): Promise<void>;
}

/** The tag every item write notifies; followed as a whole ("something changed in items"). */
export const ITEMS_TAG = { tag: 'items/any' };

/**
 * A node whose server code follows `items/1` and the tag `items/any` with `sync.subscribe` and
 * relays each change to `relay.url` as a webhook. In a cluster, run the relay on one node (or
 * give each node its own receiver): every node that follows a key sends its own events.
 */
export async function startWebhookNode(options: { port?: number; relay: WebhookRelayOptions }): Promise<WebhookNode> {
  const items = new Map([['1', { id: '1', title: 'first' }]]);
  const sync = createEntitySync({ onError: (err) => console.error(`[entity-sync] ${err.code}: ${err.message}`) });
  sync.registerEntity('items', { scope: 'shared', fetch: (key) => items.get(key.id) ?? null });
  const relay = new WebhookRelay(options.relay, (event, outcome, detail) => {
    if (outcome !== 'delivered') console.error(`[webhooks] event ${event.id} ${outcome}: ${detail}`);
  });
  const stopFollowing = await followChanges(sync, relay, [{ entity: 'items', id: '1' }, ITEMS_TAG]);
  const http = createServer((req, res) => {
    const id = req.url?.startsWith('/api/items/') ? decodeURIComponent(req.url.slice('/api/items/'.length)) : '';
    if (req.method !== 'POST' || id === '') return void res.writeHead(404).end();
    readTitle(req)
      .then(async (title) => {
        items.set(id, { id, title });
        await sync.notifyAllOfChange([{ entity: 'items', id }, ITEMS_TAG]);
        res.writeHead(204).end();
      })
      .catch((error: unknown) => res.writeHead(400).end(String(error)));
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    sync,
    relay,
    items,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    async close() {
      stopFollowing();
      await relay.close();
      await sync.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function readTitle(req: AsyncIterable<unknown>): Promise<string> {
  let body = '';
  for await (const chunk of req) if ((body += String(chunk)).length > 16_384) throw new Error('body too large');
  const { title } = JSON.parse(body) as { title?: unknown };
  if (typeof title !== 'string') throw new Error('expected {"title": string}');
  return title;
}
