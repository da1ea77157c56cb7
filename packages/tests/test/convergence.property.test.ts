import { type EntitySync, MemoryBroker } from '@entity-sync/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, type Node, startNode, type TestClient } from './support.js';

/**
 * Model-based convergence test (design section 4): random interleavings of subscribe,
 * unsubscribe, secret change, write + notify and disconnects across 3 bridges on one
 * MemoryBroker, with real WebSocket clients that do not wait for replies between steps. The
 * broker confirms subscriptions and delivers messages after scripted delays (as a broker in
 * another zone would), so secret changes land while subscribes are pending.
 *
 * On every frame: a value reaches a connection only if `authorize` allows its key under the
 * connection's current secret, and (outside shared scope) it was fetched with that secret.
 * When things go quiet, every client holds the latest visible value of every key it
 * subscribed to, and no client ever saw a key's value go backwards.
 */

afterEach(closeAll);

const ENTITIES = ['perClient', 'perSecret', 'shared'] as const;
const IDS = ['1', '2', 'p'] as const;
const SECRETS = ['', 'admin', 'other'] as const;

/** What `authorize` allows: 'p' only with the secret 'admin'; '2' never with 'other'. */
function allowed(key: string, secret: string): boolean {
  if (key.endsWith('/p')) return secret === 'admin';
  if (key.endsWith('/2')) return secret !== 'other';
  return true;
}

/** A scripted delay cycle (deterministic, so counterexamples replay). */
function cycle(...ms: number[]): () => number {
  let i = 0;
  return () => ms[i++ % ms.length]!;
}
const SLOTS = 4;

type Command =
  | { kind: 'subscribe' | 'unsubscribe'; slot: number; entity: number; id: number }
  | { kind: 'secret'; slot: number; secret: number }
  | { kind: 'write'; node: number; entity: number; id: number }
  | { kind: 'reconnect'; slot: number; node: number }
  /** Time passing between two client frames, as on a real network. */
  | { kind: 'pause'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constantFrom('subscribe' as const), slot: fc.nat(SLOTS - 1), entity: fc.nat(2), id: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('subscribe' as const), slot: fc.nat(SLOTS - 1), entity: fc.nat(2), id: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('unsubscribe' as const), slot: fc.nat(SLOTS - 1), entity: fc.nat(2), id: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('secret' as const), slot: fc.nat(SLOTS - 1), secret: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('write' as const), node: fc.nat(2), entity: fc.nat(2), id: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('write' as const), node: fc.nat(2), entity: fc.nat(2), id: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('reconnect' as const), slot: fc.nat(SLOTS - 1), node: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('pause' as const), ms: fc.nat(4) }),
);

interface Slot {
  client: TestClient;
  secret: string;
  keys: Set<string>;
}

/** The secret each `secret` message (by ref) set, to check what follows its ack. */
const secretsByRef = new Map<number, string>();

const keyOf = (entity: number, id: number) => ({ entity: ENTITIES[entity]!, id: IDS[id]! });
const name = (k: { entity: string; id: string }) => `${k.entity}/${k.id}`;

async function startCluster(versions: Map<string, number>): Promise<Node[]> {
  const broker = new MemoryBroker({ subscribeLatency: cycle(2, 0, 5, 1), deliveryLatency: cycle(0, 1, 3) });
  const register = (sync: EntitySync) => {
    for (const [i, entity] of ENTITIES.entries()) {
      sync.registerEntity(entity, {
        scope: (['client', 'secret', 'shared'] as const)[i]!,
        // Fetches read the store, then take 0-2 ms to return, so that fetches overlap with
        // each other and with everything else (deterministic, so counterexamples replay).
        fetch: async (key, ctx) => {
          const v = versions.get(name(key)) ?? 0;
          await new Promise((r) => (v % 3 === 0 ? setImmediate(r) : setTimeout(r, v % 3)));
          return { v, as: ctx.secret };
        },
        // Synchronous for one entity type, asynchronous for the others.
        authorize:
          entity === 'perClient'
            ? (key, ctx) => allowed(name(key), ctx.secret)
            : async (key, ctx) => {
                await new Promise((r) => setImmediate(r));
                return allowed(name(key), ctx.secret);
              },
      });
    }
  };
  return Promise.all([0, 1, 2].map(() => startNode(register, { broker })));
}

async function run(commands: Command[]): Promise<void> {
  secretsByRef.clear();
  const versions = new Map<string, number>();
  const nodes = await startCluster(versions);
  const slots: Slot[] = [];
  for (let i = 0; i < SLOTS; i++) slots.push({ client: await connect(nodes[i % 3]!), secret: '', keys: new Set() });
  const retired: TestClient[] = [];
  let ref = 0;

  for (const c of commands) {
    if (c.kind === 'pause') {
      await new Promise((r) => setTimeout(r, c.ms));
      continue;
    }
    if (c.kind === 'write') {
      const key = keyOf(c.entity, c.id);
      versions.set(name(key), (versions.get(name(key)) ?? 0) + 1);
      await nodes[c.node]!.sync.notifyAllOfChange(key);
      continue;
    }
    const slot = slots[c.slot]!;
    if (c.kind === 'reconnect') {
      await slot.client.close();
      retired.push(slot.client);
      slots[c.slot] = { client: await connect(nodes[c.node]!), secret: '', keys: new Set() };
    } else if (c.kind === 'secret') {
      slot.secret = SECRETS[c.secret]!;
      secretsByRef.set(++ref, slot.secret);
      slot.client.send({ action: 'secret', body: slot.secret, ref });
    } else {
      const key = keyOf(c.entity, c.id);
      slot.client.send({ action: c.kind, body: key, ref: ++ref });
      if (c.kind === 'subscribe') slot.keys.add(name(key));
      else slot.keys.delete(name(key));
    }
  }

  // Quiet: every client converges to the latest visible value of each key it holds.
  await expect
    .poll(
      () =>
        slots.map((slot) => {
          const latest = latestValues(slot.client);
          return [...slot.keys].filter((k) => allowed(k, slot.secret)).map((k) => [k, latest.get(k)?.v, latest.get(k)?.as]);
        }),
      { timeout: 10_000 },
    )
    .toEqual(
      slots.map((slot) =>
        [...slot.keys]
          .filter((k) => allowed(k, slot.secret))
          // The value was fetched with the client's current secret (shared scope has none).
          .map((k) => [k, versions.get(k) ?? 0, k.startsWith('shared/') ? '' : slot.secret]),
      ),
    );

  for (const client of [...slots.map((s) => s.client), ...retired]) {
    assertMonotonic(client);
    assertAuthorizedFrames(client);
  }
}

/**
 * The rule of issue 13, on every frame: a value is written only while `authorize` allows its key
 * under the connection's current secret, and (outside shared scope) it was fetched with that
 * secret. The current secret is the last one acked: the server acks a secret as it applies it.
 */
function assertAuthorizedFrames(client: TestClient): void {
  let secret = '';
  for (const f of client.messages as any[]) {
    if (f.type === 'ack' && secretsByRef.has(f.ref)) secret = secretsByRef.get(f.ref)!;
    if (f.type !== 'data') continue;
    const key = `${f.entity}/${f.id}`;
    expect(allowed(key, secret), `${key} sent while its secret ${JSON.stringify(secret)} is refused`).toBe(true);
    if (f.data !== null && f.entity !== 'shared') {
      expect(f.data.as, `${key} fetched with a stale secret`).toBe(secret);
    }
  }
}

function latestValues(client: TestClient): Map<string, { v: number; as: string }> {
  const latest = new Map<string, { v: number; as: string }>();
  for (const f of client.messages as any[]) if (f.type === 'data') latest.set(`${f.entity}/${f.id}`, f.data);
  return latest;
}

function assertMonotonic(client: TestClient): void {
  const last = new Map<string, number>();
  for (const f of client.messages as any[]) {
    if (f.type !== 'data' || f.data === null) continue;
    const k = `${f.entity}/${f.id}`;
    expect(f.data.v, `${k} went backwards`).toBeGreaterThanOrEqual(last.get(k) ?? 0);
    last.set(k, f.data.v);
  }
}

describe('convergence (model-based)', () => {
  it('converges under random interleavings on 3 bridges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        try {
          await run(commands);
        } finally {
          await closeAll();
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
