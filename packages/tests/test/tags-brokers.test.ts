import { type Broker, createEntitySync, MemoryBroker } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';
import { Teardown, TestClient } from '@entity-sync/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { serve } from './support.js';

/**
 * Tags route over the bus like keys (design section 9), on every broker: a list on node 0 depends
 * on its owner's tag, a writer on node 1 (which holds no subscription) notifies the tag, and the
 * list is fetched again; a fetch that stops declaring a tag stops following it on the bus.
 */
const leftovers = new Teardown();
afterEach(leftovers.run);

let run = 0;
const memory = new MemoryBroker({ subscribeLatency: 1 });
const brokers: Record<string, () => Broker> = {
  memory: () => memory,
  nats: () => createNatsBroker({ servers: inject('natsUrl') }),
  redis: () => createRedisBroker({ url: inject('redisUrl') }),
};

interface Todo {
  id: string;
  owner: string;
}

describe.each(Object.keys(brokers))('tags over %s', (name) => {
  it('a tag notified on one node refetches the lists that depend on it on another, and only while they do', async () => {
    const prefix = `tags-${name}-${++run}`;
    const rows = new Map<string, Todo>([['1', { id: '1', owner: '7' }]]);
    /** Which owner's tag the list of owner 7 follows; moving it is a dependency change. */
    let follows = '7';
    let fetches = 0;
    const nodes = [0, 1].map((n) => {
      const sync = createEntitySync({ broker: brokers[name]!(), prefix, nodeId: `n${n}` });
      sync.registerEntity('todoList', {
        params: z.object({ owner: z.string() }),
        scope: 'shared',
        fetch: (key, ctx) => {
          fetches++;
          ctx.dependsOn({ tag: `todos/owner/${follows}` });
          return [...rows.values()].filter((t) => t.owner === key.params.owner).map((t) => t.id);
        },
      });
      let marks = 0;
      sync.registerEntity('marker', { fetch: () => ++marks });
      leftovers.push(sync);
      return sync;
    });
    await Promise.all(nodes.map((n) => n.ready()));
    const server = await serve(nodes[0]!);
    leftovers.push(server);
    const client = await TestClient.connect(server.url);
    leftovers.push(client);
    const list = { entity: 'todoList', params: { owner: '7' } };
    const id = JSON.stringify({ owner: '7' });
    const lists = () => client.messages.filter((f: any) => f.type === 'data' && f.id === id).map((f: any) => f.data);

    expect(await client.request({ action: 'subscribe', body: list }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(lists()).toEqual([['1']]);

    rows.set('2', { id: '2', owner: '7' });
    await nodes[1]!.notifyAllOfChange({ tag: 'todos/owner/7' });
    await client.waitFor((f) => f.type === 'data' && f.id === id && f.data.length === 2);
    expect(lists()).toEqual([['1'], ['1', '2']]);

    // The next fetch declares another tag: node 0 follows todos/owner/8 and drops todos/owner/7.
    follows = '8';
    rows.set('3', { id: '3', owner: '7' });
    await nodes[1]!.notifyAllOfChange({ tag: 'todos/owner/7' });
    await client.waitFor((f) => f.type === 'data' && f.id === id && f.data.length === 3);
    rows.set('4', { id: '4', owner: '7' });
    await nodes[1]!.notifyAllOfChange({ tag: 'todos/owner/8' });
    await client.waitFor((f) => f.type === 'data' && f.id === id && f.data.length === 4);

    // The dropped tag no longer reaches the list: a notify of it fetches nothing. A key notify
    // on the same bus afterwards is the barrier that shows the tag's message has been delivered.
    const before = fetches;
    await nodes[1]!.notifyAllOfChange({ tag: 'todos/owner/7' });
    expect(await client.request({ action: 'subscribe', body: { entity: 'marker', id: '1' } }, 'm')).toEqual({ type: 'ack', ref: 'm' });
    await nodes[1]!.notifyAllOfChange({ entity: 'marker', id: '1' });
    await client.waitFor(
      (f) => f.type === 'data' && f.entity === 'marker' && client.messages.filter((g: any) => g.entity === 'marker').length === 2,
    );
    expect(fetches).toBe(before);
    expect(lists()).toHaveLength(4);
  });
});
