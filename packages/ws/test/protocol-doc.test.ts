import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEntitySync, type EntityKey, type EntitySync } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RunningServer, serve } from './support/server.js';
import { TestClient, Teardown } from '@entity-sync/testing';

/** Replays every ```flow block of docs/protocol.md against a live server. */
const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');

interface Flow {
  title: string;
  mode: 'v1' | 'legacy';
  steps: string[];
}

function flows(): Flow[] {
  const found: Flow[] = [];
  const pattern = /^### (.+)\n\n```flow (v1|legacy)\n([\s\S]*?)```/gm;
  for (const match of doc.matchAll(pattern)) {
    found.push({ title: match[1]!, mode: match[2] as Flow['mode'], steps: match[3]!.trim().split('\n') });
  }
  return found;
}

function fixture(): { sync: EntitySync; store: Map<string, unknown> } {
  const store = new Map<string, unknown>([['100', { id: '100', closed: false }]]);
  const sync = createEntitySync();
  sync.registerEntity('items', {
    fetch: (key) => store.get(key.id) ?? null,
    authorize: (key, ctx) => !key.id.startsWith('private-') || ctx.secret === 'admin',
  });
  sync.registerEntity('broken', {
    fetch: () => {
      throw new Error('database exploded');
    },
  });
  sync.registerEntity('todoList', {
    params: z.object({ owner: z.string(), status: z.enum(['open', 'done']).optional() }),
    fetch: (key, ctx) => {
      ctx.dependsOn({ tag: `todos/owner/${key.params.owner}` });
      const todos = [...store.values()] as Array<{ owner?: string; status?: string }>;
      return todos.filter((t) => t.owner === key.params.owner && (key.params.status === undefined || t.status === key.params.status));
    },
  });
  return { sync, store };
}

/** `entity/id` names a key; `#name` names a tag. */
function parseTarget(text: string): EntityKey | { tag: string } {
  if (text.startsWith('#')) return { tag: text.slice(1) };
  const [entity, id] = text.split('/') as [string, string];
  return { entity, id };
}

const leftovers = new Teardown();
afterEach(leftovers.run);

describe('docs/protocol.md examples', () => {
  const all = flows();

  it('has the examples this test expects', () => {
    expect(all.map((f) => f.mode)).toEqual(['v1', 'legacy', 'v1', 'v1', 'v1', 'legacy', 'v1']);
  });

  for (const flow of all) {
    it(`${flow.title} (${flow.mode})`, async () => {
      const { sync, store } = fixture();
      const server: RunningServer = await serve(sync);
      leftovers.push(sync, server);
      const client = await TestClient.connect(server.url, { protocol: flow.mode });
      leftovers.push(client);
      const probe = await TestClient.connect(server.url, { protocol: 'v1' });
      leftovers.push(probe);
      let probeRef = 0;

      for (const step of flow.steps) {
        const [marker, rest] = [step.slice(0, 1), step.slice(2)];
        if (marker === '→') {
          client.send(rest);
        } else if (marker === '←') {
          const frame = await client.next();
          if (flow.mode === 'legacy') expect(client.frames[client.frames.length - 1]).toBe(rest);
          expect(frame).toEqual(JSON.parse(rest));
        } else if (marker === '!') {
          const [verb, target, ...value] = rest.split(' ');
          const parsed = parseTarget(target!);
          if (verb === 'set' && 'id' in parsed) store.set(parsed.id, JSON.parse(value.join(' ')));
          if (verb === 'notify') {
            // Legacy clients get no ack: a probe's acked subscribe to the same key orders after theirs.
            if ('id' in parsed) await probe.request({ action: 'subscribe', body: parsed }, ++probeRef);
            await sync.notifyAllOfChange(parsed);
          }
        } else {
          throw new Error(`unknown step: ${step}`);
        }
      }

      // Nothing unexpected may follow: a barrier frame must be the very next one.
      if (flow.mode === 'v1') {
        client.send({ action: 'unsubscribe', body: { entity: 'items', id: 'barrier' }, ref: 'barrier' });
        expect(await client.next()).toEqual({ type: 'ack', ref: 'barrier' });
      } else {
        const barrier = { entity: 'items', id: 'barrier' };
        store.set('barrier', 'barrier');
        client.send({ action: 'subscribe', body: barrier });
        await probe.request({ action: 'subscribe', body: barrier }, ++probeRef);
        await sync.notifyAllOfChange(barrier);
        expect(await client.next()).toBe('barrier');
      }
    });
  }
});
