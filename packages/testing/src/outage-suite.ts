import type { Broker } from '@entity-sync/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { brokerConformance } from './broker-conformance.js';
import { BrokerProbe } from './broker-probe.js';
import type { TestServer } from './test-server.js';

/** What {@link brokerOutageSuite} needs to know of a broker. */
export interface OutageFixture<S extends TestServer> {
  /** Starts the dedicated server the suite stops and restarts. */
  start(): Promise<S>;
  /** A broker on `server`. */
  broker(server: S): Broker;
  /** Whether a publish made while down reaches subscribers after recovery. */
  deliversPublishesMadeWhileDown: boolean;
}

export interface OutageSuite<S extends TestServer> {
  server(): S;
  /** Connects a probe session (closed after the suite). */
  probe(broker: Broker): Promise<BrokerProbe>;
}

const wait = { timeout: 20_000, interval: 5 };

/**
 * The outage checks every broker runs against a real server that is stopped and restarted on
 * the same port: the conformance suite with an outage, and recovery of a subscription made
 * before it (with the time to report `'down'` and `'up'` as a test annotation). Call inside a
 * `describe`; use the returned handles for the broker's own outage tests.
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

    it('reports down then up and delivers to a subscription made before the outage', async (ctx) => {
      const [a, b] = [await suite.probe(fixture.broker(current())), await suite.probe(fixture.broker(current()))];
      await a.subscribe('t-outage.items.YQ');
      const stoppedAt = Date.now();
      await current().stop();
      await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
      const downMs = a.statusTimes[0]! - stoppedAt;
      const whileDown = fixture.deliversPublishesMadeWhileDown ? ['buffered while down'] : [];
      for (const text of whileDown) await a.publish('t-outage.items.YQ', text);
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
      await vi.waitFor(() => expect(a.texts('t-outage.items.YQ')).toEqual([...whileDown, 'after recovery']), wait);
      ctx.annotate(`down reported after ${downMs} ms; up ${upMs} ms after restart`);
      expect(upMs).toBeLessThan(5_000);
    });
  });

  return suite;
}
