export { attachWebSocket } from './attach.js';
export type { WebSocketAttachment } from './attach.js';
export type { AttachOptions, Authenticate, AuthenticateResult, OriginCheck } from './options.js';
export type { AdmissionOptions } from './admission.js';
