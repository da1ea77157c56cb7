import { brokerConformance, type NatsCluster, startNatsCluster } from '@entity-sync/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNatsBroker } from '../src/index.js';

const natsUrl = inject('natsUrl');

describe('own connection per session', () => {
  brokerConformance('nats { servers }', () => createNatsBroker({ servers: natsUrl }));
});

describe('user-passed connection shared by sessions', () => {
  let connection: NatsConnection;
  beforeAll(async () => {
    connection = await connect({ servers: natsUrl });
  });
  afterAll(async () => {
    await connection.close();
  });

  brokerConformance('nats { connection }', () => createNatsBroker({ connection }));

  it('leaves the connection open when its sessions close', async () => {
    const session = await createNatsBroker({ connection }).connect({ message: () => {} });
    await session.subscribe('t-open.items.YQ');
    await session.close();
    expect(connection.isClosed()).toBe(false);
    await connection.flush();
  });
});

describe('3-server NATS cluster, sessions on different servers', () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  brokerConformance('nats cluster', () => {
    const brokers = cluster.urls.map((servers) => createNatsBroker({ servers }));
    return { broker: (index) => brokers[index % brokers.length]! };
  });
});

describe('options', () => {
  it('rejects neither or both of servers and connection', () => {
    expect(() => createNatsBroker({} as never)).toThrow(/either `servers` or `connection`/);
    expect(() => createNatsBroker({ servers: natsUrl, connection: {} } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects the removed maxBufferedBytes, pointing to the node option that replaces it', () => {
    expect(() => createNatsBroker({ servers: natsUrl, maxBufferedBytes: 1_000 } as never)).toThrow(
      /maxBufferedBytes.*maxBufferedPublishes/,
    );
  });

  it('rejects a bad clusterPropagationMs', () => {
    expect(() => createNatsBroker({ servers: natsUrl, clusterPropagationMs: -1 })).toThrow(/clusterPropagationMs/);
  });
});
