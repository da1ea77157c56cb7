import './provided-context.js';

export { findBinary } from './binaries.js';
export { BrokerProbe, type ProbeMessage } from './broker-probe.js';
export {
  AWKWARD_IDS,
  brokerConformance,
  type ConformanceFixture,
  type ConformanceOptions,
} from './broker-conformance.js';
export { type FrameTap, tapClientFrames } from './frame-tap.js';
export { freePort } from './free-port.js';
export { LatencyProxy } from './latency-proxy.js';
export { brokerOutageSuite, type OutageFixture, type OutageSuite } from './outage-suite.js';
export { NatsCluster, startNatsCluster } from './nats-cluster.js';
export { MariadbServer, startMariadb, type StartMariadbOptions } from './mariadb-server.js';
export { NatsServer, startNats, type StartNatsOptions } from './nats-server.js';
export { pollUntil, type PollOptions } from './poll.js';
export { PostgresServer, postgresBinary, startPostgres, type StartPostgresOptions } from './postgres-server.js';
export { RedisCluster, startRedisCluster } from './redis-cluster.js';
export { RedisServer, startRedis, type StartRedisOptions } from './redis-server.js';
export { redisCommand, type RespReply } from './resp.js';
export { RecordingTarget } from './recording-target.js';
export { type SourceConformanceOptions, type SourceFixture, sourceConformance } from './source-conformance.js';
export { conformanceTables, itemKeys, type SourceModule } from './source-conformance-tables.js';
export { ServerProcess, type LaunchOptions } from './server-process.js';
export { serviceUser, type ServiceUser } from './service-user.js';
export { TestServer } from './test-server.js';
export { type Closeable, type RunningServer, serveHttp } from './serve-http.js';
export { type Disposable, Teardown } from './teardown.js';
export { TestClient, type TestClientOptions } from './test-client.js';
export { forkTs, TS_EXEC_ARGV, TS_LOADER_URL } from './ts-child.js';
