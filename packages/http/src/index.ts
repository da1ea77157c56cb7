export { createNotifyHandler } from './handler.js';
export type { NotifyHandler } from './handler.js';
export type { NotifyErrorContext, NotifyErrorHandler, NotifyHandlerOptions, VerifyRequest } from './options.js';
export { NotifyErrorCode } from './reply.js';
