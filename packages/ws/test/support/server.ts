import type { EntitySync } from '@entity-sync/core';
import { type RunningServer as Running, serveHttp } from '@entity-sync/testing';
import { type AttachOptions, attachWebSocket, type WebSocketAttachment } from '@entity-sync/ws';

export type RunningServer = Running<WebSocketAttachment>;

/** Serves `sync` on a fresh HTTP server on a free loopback port. */
export function serve(sync: EntitySync, options: Omit<AttachOptions, 'server' | 'noServer'> = {}): Promise<RunningServer> {
  return serveHttp((server) => attachWebSocket(sync, { server, ...options }), options.path);
}
