import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EntitySync, EntitySyncError } from '@entity-sync/core';
import { type NotifyRequest, parseNotifyBody } from './notify-body.js';
import { type NotifyHandlerOptions, type ResolvedNotifyOptions, resolveOptions } from './options.js';
import { mediaTypeProblem, readJsonBody } from './read-body.js';
import { problem, type Reply, send } from './reply.js';
import { Reporter } from './reporter.js';

/** A request handler for `node:http`, Express and (through `request.raw`, `reply.raw`) Fastify. */
export type NotifyHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Creates the HTTP notify endpoint: `POST {"keys": [{"entity", "id"} or {"tag"}, ...]}` calls
 * `sync.notifyAllOfChange(keys)`, `POST {"resync": true}` calls `sync.resyncAll()`, and each
 * answers 202 once the bus accepted it. Every refusal is a status with a JSON body
 * `{"error": {"code", "message"}}` (see `NotifyErrorCode`). Mount it on any path; it does no
 * routing. Throws `INVALID_OPTIONS` on bad options.
 */
export function createNotifyHandler(sync: EntitySync, options: NotifyHandlerOptions): NotifyHandler {
  const resolved = resolveOptions(options);
  const endpoint = new NotifyEndpoint(sync, resolved, new Reporter(resolved.onError));
  return (req, res) => endpoint.handle(req, res);
}

class NotifyEndpoint {
  constructor(
    private readonly sync: EntitySync,
    private readonly options: ResolvedNotifyOptions,
    private readonly reporter: Reporter,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', ignore); // a client that goes away mid-body must not become an 'error' event without listener
    this.answer(req)
      .catch((cause: unknown) => this.internal(req, cause))
      .then((reply) => send(req, res, reply))
      .catch((cause: unknown) => {
        this.reporter.report(EntitySyncError.from(cause), req);
        res.destroy();
      });
  }

  async answer(req: IncomingMessage): Promise<Reply> {
    if (req.method !== 'POST') {
      return problem(405, 'METHOD_NOT_ALLOWED', `use POST, not ${req.method ?? 'no method'}`, {}, { Allow: 'POST' });
    }
    const denied = await this.authenticate(req);
    if (denied !== undefined) return denied;
    const mediaType = mediaTypeProblem(req.headers['content-type']);
    if (mediaType !== undefined) return mediaType;
    const body = await readJsonBody(req, this.options);
    if (!body.ok) return body.reply;
    const parsed = parseNotifyBody(body.value, this.options.maxKeys);
    if (!parsed.ok) return parsed.reply;
    return this.notify(req, parsed.request);
  }

  async authenticate(req: IncomingMessage): Promise<Reply | undefined> {
    let accepted: boolean;
    try {
      accepted = (await this.options.verify(req)) === true;
    } catch (cause) {
      return this.internal(req, new EntitySyncError('INTERNAL', 'createNotifyHandler: verify threw', { cause }));
    }
    if (accepted) return undefined;
    const message = req.headers.authorization === undefined ? 'missing Authorization: Bearer <token>' : 'the credentials are not valid';
    return problem(401, 'UNAUTHORIZED', message, {}, { 'WWW-Authenticate': 'Bearer' });
  }

  async notify(req: IncomingMessage, request: NotifyRequest): Promise<Reply> {
    try {
      if (request.kind === 'resync') {
        await this.sync.resyncAll();
        return { status: 202, body: { resync: true } };
      }
      await this.sync.notifyAllOfChange(request.entries);
      return { status: 202, body: { notified: request.entries.length } };
    } catch (cause) {
      const error = EntitySyncError.from(cause);
      if (error.code !== 'PUBLISH_FAILED' && error.code !== 'CLOSED') return this.internal(req, error);
      this.reporter.report(error, req);
      const message = error.code === 'CLOSED' ? 'this node is shutting down' : 'the message bus did not accept the change';
      return problem(503, 'UNAVAILABLE', `${message}; retry later`, {}, { 'Retry-After': String(this.options.retryAfterSeconds) });
    }
  }

  internal(req: IncomingMessage, cause: unknown): Reply {
    this.reporter.report(EntitySyncError.from(cause), req);
    return problem(500, 'INTERNAL', 'internal error');
  }
}

function ignore(): void {}
