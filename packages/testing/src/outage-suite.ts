import { randomUUID } from 'node:crypto';
import { type Broker, createEntitySync, type EntityKey, keySubject } from '@entity-sync/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { brokerConformance } from './broker-conformance.js';
import { BrokerProbe } from './broker-probe.js';
import type { TestServer } from './test-server.js';

/** What {@link brokerOutageSuite} needs to know of a broker. */
export interface OutageFixture<S extends TestServer> {
  /** Starts the dedicated server the suite stops and restarts. */
  start(): Promise<S>;
  /** A broker on `server` (each session with connections of its own). */
  broker(server: S): Broker;
  /**
   * A broker on `server` whose sessions all share one connection that the test owns (the
   * `{ connection }` / `{ publisher, subscriber }` form), reconnecting forever, and the way to
   * close that connection.
   */
  sharedBroker(server: S): Promise<{ broker: Broker; close(): Promise<void> }>;
}

export interface OutageSuite<S extends TestServer> {
  server(): S;
  /** Connects a probe session (closed after the suite). */
  probe(broker: Broker): Promise<BrokerProbe>;
}

const wait = { timeout: 20_000, interval: 5 };

/**
 * The outage checks every broker runs against a real server that is stopped and restarted on
 * the same port: the conformance suite with an outage; recovery of a subscription made before
 * it (with the time to report `'down'` and `'up'` as a test annotation); a publish while down
 * refused at once by the session, with a message saying it `is disconnected` (brokers keep no
 * publish buffer); and the core's buffer on top of the
 * broker (`maxBufferedPublishes`). Call inside a `describe`; use the returned handles for the
 * broker's own outage tests.
 */
export function brokerOutageSuite<S extends TestServer>(name: string, fixture: OutageFixture<S>): OutageSuite<S> {
  let server: S | undefined;
  const probes: BrokerProbe[] = [];
  const current = (): S => {
    if (server === undefined) throw new Error('the outage suite has not started its server');
    return server;
  };
  const suite: OutageSuite<S> = {
    server: current,
    async probe(broker) {
      const probe = await BrokerProbe.connect(broker);
      probes.push(probe);
      return probe;
    },
  };

  beforeAll(async () => {
    server = await fixture.start();
  });
  afterAll(async () => {
    await Promise.allSettled(probes.map((p) => p.close()));
    await server?.stop();
  });

  describe(`${name}: server stopped and restarted on the same port`, () => {
    brokerConformance(`${name} outage`, () => {
      const broker = fixture.broker(current());
      return { broker: () => broker, outage: { begin: () => current().stop(), end: () => current().start() } };
    });

    it('reports down then up, rejects publishes while down, and delivers to a subscription made before', async (ctx) => {
      const [a, b] = [await suite.probe(fixture.broker(current())), await suite.probe(fixture.broker(current()))];
      await a.subscribe('t-outage.items.YQ');
      const stoppedAt = Date.now();
      await current().stop();
      await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
      const downMs = a.statusTimes[0]! - stoppedAt;
      // Refused by the session itself, not after waiting in a client library's offline queue.
      await expect(a.publish('t-outage.items.YQ', 'while down')).rejects.toMatchObject({
        code: 'PUBLISH_FAILED',
        message: expect.stringMatching(/is disconnected/),
      });
      const startedAt = Date.now();
      await current().start();
      await vi.waitFor(
        () =>
          expect([a.statuses, b.statuses]).toEqual([
            ['down', 'up'],
            ['down', 'up'],
          ]),
        wait,
      );
      const upMs = Math.max(a.statusTimes[1]!, b.statusTimes[1]!) - startedAt;
      await b.publish('t-outage.items.YQ', 'after recovery');
      await vi.waitFor(() => expect(a.texts('t-outage.items.YQ')).toEqual(['after recovery']), wait);
      ctx.annotate(`down reported after ${downMs} ms; up ${upMs} ms after restart`);
      expect(upMs).toBeLessThan(5_000);
    });

    it('a node holds notifies while down up to maxBufferedPublishes, rejects past it, and sends the held ones on recovery', async () => {
      // The observer shares the node's connection, so its subscriptions are back on the server
      // before the node reports 'up' and sends what it held.
      const shared = await fixture.sharedBroker(current());
      const prefix = `t-${randomUUID()}`;
      const node = createEntitySync({ broker: shared.broker, prefix, nodeId: 'held', maxBufferedPublishes: 3, busTimeoutMs: 60_000 });
      const observer = await BrokerProbe.connect(shared.broker);
      try {
        const keys: EntityKey[] = [1, 2, 3, 4].map((i) => ({ entity: 'items', id: `k${i}` }));
        const subjects = keys.map((key) => keySubject(prefix, key));
        await node.ready();
        for (const subject of subjects) await observer.subscribe(subject);
        await current().stop();
        await vi.waitFor(() => expect(node.stats().bus).toBe('down'), wait);
        const held = keys.slice(0, 3).map((key) => node.notifyAllOfChange(key));
        await expect(node.notifyAllOfChange(keys[3]!)).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
        await current().start();
        await Promise.all(held);
        await vi.waitFor(() => expect(observer.messages.map((m) => m.subject).sort()).toEqual(subjects.slice(0, 3).sort()), wait);
        await node.notifyAllOfChange(keys[3]!);
        await vi.waitFor(() => expect(observer.texts(subjects[3]!)).toHaveLength(1), wait);
        expect(observer.messages.every((m) => JSON.parse(m.text).origin === 'held')).toBe(true);
      } finally {
        await Promise.allSettled([node.close(), observer.close()]);
        await shared.close();
      }
    });
  });

  return suite;
}
