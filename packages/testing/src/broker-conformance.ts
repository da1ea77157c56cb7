import { randomUUID } from 'node:crypto';
import { type Broker, isBroker, keySubject } from '@entity-sync/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerProbe } from './broker-probe.js';

/** What a broker under test provides to {@link brokerConformance}, per test. */
export interface ConformanceFixture {
  /**
   * The broker through which the `index`-th session of a test connects. Return the same broker
   * for every index, or brokers attached to different servers of a cluster.
   */
  broker(index: number): Broker;
  /**
   * Causes and ends a bus outage (stop and restart the server on the same port, or
   * `MemoryBroker.setDown`). Without it the outage test is skipped.
   */
  outage?: { begin(): Promise<void> | void; end(): Promise<void> | void };
  /** Runs after each test, after every session was closed. */
  dispose?(): Promise<void> | void;
}

/** Options of {@link brokerConformance}. */
export interface ConformanceOptions {
  /** How long to wait for an expected delivery or status. @default 5000 */
  timeoutMs?: number;
  /** How long to wait for `'down'` and then `'up'` in the outage test. @default 20000 */
  outageTimeoutMs?: number;
}

type MakeFixture = () => Broker | ConformanceFixture | Promise<Broker | ConformanceFixture>;

/** Ids that would break a subject if they were not escaped. */
export const AWKWARD_IDS = ['a', 'a.b', 'a.*', '*', '>', 'a >', ' ', '', 'x\ty', 'ü€😀', '=', 'YQ'];

/**
 * The shared test suite every `Broker` runs (design section 5): confirmed subscribe, fan-out,
 * unsubscribe, idempotence, exact subjects, own publishes, close, outage and recovery.
 * Call it at the top level of a test file; `makeFixture` runs before each test.
 */
export function brokerConformance(name: string, makeFixture: MakeFixture, options: ConformanceOptions = {}): void {
  const wait = { timeout: options.timeoutMs ?? 5_000, interval: 5 };
  let fixture: ConformanceFixture;
  let probes: BrokerProbe[];
  let prefix: string;

  const probe = async (index = probes.length): Promise<BrokerProbe> => {
    const p = await BrokerProbe.connect(fixture.broker(index));
    probes.push(p);
    return p;
  };
  const subject = (id: string, entity = 'items'): string => keySubject(prefix, { entity, id });

  beforeEach(async () => {
    const made = await makeFixture();
    fixture = isBroker(made) ? { broker: () => made } : made;
    probes = [];
    prefix = `t-${randomUUID()}`;
  });

  afterEach(async () => {
    await Promise.allSettled(probes.map((p) => p.close()));
    await fixture.dispose?.();
  });

  describe(`broker conformance: ${name}`, () => {
    it('delivers a publish made right after subscribe resolves', async () => {
      const [a, b] = [await probe(0), await probe(1)];
      for (let i = 0; i < 20; i++) {
        await a.subscribe(subject(`seq-${i}`));
        await b.publish(subject(`seq-${i}`), `m${i}`);
      }
      const parallel = Array.from({ length: 50 }, (_, i) => subject(`par-${i}`));
      await Promise.all(parallel.map((s) => a.subscribe(s)));
      await Promise.all(parallel.map((s, i) => b.publish(s, `p${i}`)));
      await vi.waitFor(() => expect(a.messages).toHaveLength(70), wait);
      for (let i = 0; i < 20; i++) expect(a.texts(subject(`seq-${i}`))).toEqual([`m${i}`]);
      for (const [i, s] of parallel.entries()) expect(a.texts(s)).toEqual([`p${i}`]);
    });

    it('fans out to every subscribed session exactly once', async () => {
      const subs = [await probe(0), await probe(1), await probe(2)];
      const publisher = await probe(3);
      const s = subject('fan');
      await Promise.all(subs.map((p) => p.subscribe(s)));
      await publisher.publish(s, 'one');
      await publisher.publish(s, 'two');
      for (const p of subs) await vi.waitFor(() => expect(p.texts(s)).toContain('two'), wait);
      for (const p of subs) expect(p.texts(s)).toEqual(['one', 'two']);
      expect(publisher.messages).toEqual([]);
    });

    it('stops delivery after unsubscribe', async () => {
      const [a, b] = [await probe(0), await probe(1)];
      const [gone, kept] = [subject('gone'), subject('kept')];
      await a.subscribe(gone);
      await a.subscribe(kept);
      await a.unsubscribe(gone);
      await b.publish(gone, 'late');
      await b.publish(kept, 'marker');
      await vi.waitFor(() => expect(a.texts(kept)).toEqual(['marker']), wait);
      expect(a.texts(gone)).toEqual([]);
    });

    it('treats repeated subscribe and unsubscribe as no-ops', async () => {
      const [a, b] = [await probe(0), await probe(1)];
      const s = subject('twice');
      await a.subscribe(s);
      await Promise.all([a.subscribe(s), a.subscribe(s)]);
      await b.publish(s, 'one');
      await b.publish(s, 'two');
      await vi.waitFor(() => expect(a.texts(s)).toContain('two'), wait);
      expect(a.texts(s)).toEqual(['one', 'two']);
      await a.unsubscribe(s);
      await a.unsubscribe(s);
      await a.unsubscribe(subject('never-subscribed'));
      await a.subscribe(s);
      await b.publish(s, 'three');
      await vi.waitFor(() => expect(a.texts(s)).toEqual(['one', 'two', 'three']), wait);
    });

    it('matches subjects exactly, whatever the id contains', async () => {
      const [a, b] = [await probe(0), await probe(1)];
      const wanted = ['*', '>', 'a.*', ''];
      await Promise.all(wanted.map((id) => a.subscribe(subject(id))));
      const others = AWKWARD_IDS.filter((id) => !wanted.includes(id));
      for (const id of others) await b.publish(subject(id), `other:${id}`);
      await b.publish(subject('a', 'items2'), 'other entity');
      for (const id of wanted) await b.publish(subject(id), `id:${id}`);
      await vi.waitFor(() => expect(a.messages).toHaveLength(wanted.length), wait);
      for (const id of wanted) expect(a.texts(subject(id))).toEqual([`id:${id}`]);
    });

    it('delivers every awkward id to its own subject, bytes intact', async () => {
      const [a, b] = [await probe(0), await probe(1)];
      await Promise.all(AWKWARD_IDS.map((id) => a.subscribe(subject(id))));
      for (const id of AWKWARD_IDS) await b.publish(subject(id), id);
      await vi.waitFor(() => expect(a.messages).toHaveLength(AWKWARD_IDS.length), wait);
      for (const id of AWKWARD_IDS) expect(a.texts(subject(id))).toEqual([id]);
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await b.session.publish(subject('a'), bytes);
      await b.session.publish(subject('a'), new Uint8Array(0));
      await vi.waitFor(() => expect(a.texts(subject('a'))).toHaveLength(3), wait);
      const received = a.messages.filter((m) => m.subject === subject('a')).map((m) => m.payload);
      expect(received.slice(1)).toEqual([bytes, new Uint8Array(0)]);
    });

    it("delivers a session's own publishes to itself", async () => {
      const a = await probe(0);
      const s = subject('echo');
      await a.subscribe(s);
      await a.publish(s, 'mine');
      await vi.waitFor(() => expect(a.texts(s)).toEqual(['mine']), wait);
    });

    it('stops delivery to a closed session and keeps the others going', async () => {
      const [a, b, c] = [await probe(0), await probe(1), await probe(2)];
      const s = subject('closing');
      await a.subscribe(s);
      await b.subscribe(s);
      await a.close();
      await c.publish(s, 'after close');
      await c.publish(s, 'marker');
      await vi.waitFor(() => expect(b.texts(s)).toEqual(['after close', 'marker']), wait);
      expect(a.messages).toEqual([]);
    });

    it('reports down and up across an outage, with subscriptions restored', async (ctx) => {
      if (!fixture.outage) return ctx.skip();
      const outageWait = { timeout: options.outageTimeoutMs ?? 20_000, interval: 5 };
      const [a, b] = [await probe(0), await probe(1)];
      const s = subject('survives');
      await a.subscribe(s);
      await fixture.outage.begin();
      await vi.waitFor(() => expect(a.statuses).toContain('down'), outageWait);
      await vi.waitFor(() => expect(b.statuses).toContain('down'), outageWait);
      await fixture.outage.end();
      await vi.waitFor(() => expect(a.statuses.at(-1)).toBe('up'), outageWait);
      await vi.waitFor(() => expect(b.statuses.at(-1)).toBe('up'), outageWait);
      await b.publish(s, 'after recovery');
      await vi.waitFor(() => expect(a.texts(s)).toEqual(['after recovery']), wait);
      for (const p of [a, b]) {
        expect(p.statuses[0]).toBe('down');
        expect(p.statuses.every((st, i) => i === 0 || st !== p.statuses[i - 1])).toBe(true);
      }
    });
  });
}
