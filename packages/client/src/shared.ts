// `@entity-sync/client/shared`: everything of the main entry, plus `createSharedClient` (one
// socket for all tabs). A separate entry, so apps that do not share pay nothing for it.
export * from './index.js';
export { type BroadcastChannelLike, createSharedClient, type SharedClient, type SharedClientOptions } from './shared-client.js';
export type { LockManagerLike } from './shared-election.js';
