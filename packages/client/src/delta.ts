// `@entity-sync/client/delta`: what a client needs to accept delta frames, kept out of the main
// entry so apps that do not use deltas pay nothing for it.
//
//   import { applyDelta } from '@entity-sync/client/delta';
//   const client = createClient({ url, deltas: applyDelta });
export { applyDelta } from '@entity-sync/protocol';
