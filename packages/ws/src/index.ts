export { attachWebSocket } from './attach.js';
export type { WebSocketAttachment } from './attach.js';
export type { AttachOptions, Authenticate, OriginCheck } from './options.js';
