// A change source in a child process, for the conformance suite's "follower killed" test:
// `ES_SOURCE_CHILD` names the fixture module and its settings; every notify, resync, error and
// role change goes to the parent over IPC. The parent SIGKILLs it mid-stream.
import type { ChangeSource } from '@entity-sync/core';
import { RecordingTarget } from './recording-target.js';
import { conformanceTables, type SourceModule } from './source-conformance-tables.js';

const config = JSON.parse(process.env['ES_SOURCE_CHILD'] ?? '{}') as { module: string; table: string; settings: Record<string, unknown> };
const send = (message: object): void => {
  process.send?.(message);
};

const { createTestSource } = (await import(config.module)) as SourceModule;
const target = new RecordingTarget();
target.onNotify = (keys) => send({ type: 'notify', keys });
target.onResync = () => send({ type: 'resync' });
const source: ChangeSource = createTestSource(target, conformanceTables(config.table), {
  ...config.settings,
  onError: (error) => send({ type: 'error', code: error.code, message: error.message }),
});
await source.start();
let role = '';
setInterval(() => {
  if (source.role !== role) send({ type: 'role', role: (role = source.role) });
}, 10);
process.on('disconnect', () => process.exit(0));
