import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { DEFAULT_PATH, EntitySyncError } from '@entity-sync/core';
import type { AdmissionOptions } from './admission.js';

/** Decides whether a browser page from `origin` may connect. `origin` is absent for non-browser clients. */
export type OriginCheck = (origin: string | undefined, req: IncomingMessage) => boolean | Promise<boolean>;

/**
 * Returns the connection's initial secret (or `undefined` for none, the client can still send
 * one), or `false` to refuse the upgrade with 401. Throwing refuses it too.
 */
export type Authenticate = (req: IncomingMessage) => AuthenticateResult | Promise<AuthenticateResult>;

/**
 * The initial secret (`undefined`: none, the client may still send one), or the secret and
 * when it expires (ms since the epoch: from then on the connection gets `SECRET_EXPIRED` and no
 * data until it sends a new secret), or `false` to refuse the upgrade with 401.
 */
export type AuthenticateResult = string | { secret: string; expiresAt?: number } | undefined | false;

/** Options of {@link attachWebSocket}. Give exactly one of `server` and `noServer`. */
export interface AttachOptions {
  /** The HTTP(S) server whose upgrade requests on `path` this transport takes. Others are left alone. */
  server?: HttpServer | HttpsServer;
  /** Do not listen on a server; call `handleUpgrade(req, socket, head)` yourself (Express, Fastify, Koa). */
  noServer?: boolean;
  /** The request path (the query string is ignored). @default '/ws/entity-sync/' */
  path?: string;
  /**
   * Allowed `Origin` headers (exact match, e.g. `https://app.example.com`), or a check.
   * Requests without an `Origin` header (non-browser clients) pass an allow-list.
   * @default every origin is allowed
   */
  origins?: readonly string[] | OriginCheck;
  /** Authenticates the upgrade request and gives the initial secret. @default none: secret '' */
  authenticate?: Authenticate;
  /**
   * Bounds on new connections: upgrades per second and handshakes in progress; past them (and
   * while the node drains) an upgrade gets 503 with `Retry-After`.
   * @default { upgradesPerSecond: 1000, burst: 2000, maxPendingHandshakes: 1000, retryAfterSeconds: 1 }
   */
  admission?: AdmissionOptions;
  /** Largest inbound frame in bytes; a larger one closes the connection with 1009. @default 65536 */
  maxPayload?: number;
  /**
   * Ping interval. A peer that has not answered the previous ping by the next one is
   * terminated. `0` turns heartbeats off. @default 30000
   */
  heartbeatIntervalMs?: number;
  /**
   * Accept clients that ask for no subprotocol (Go `entity-sync` clients). When `false`, such
   * upgrades are refused with 426. @default true
   */
  legacy?: boolean;
}

export interface ResolvedAttachOptions {
  server: HttpServer | HttpsServer | undefined;
  path: string;
  origins: OriginCheck | undefined;
  authenticate: Authenticate | undefined;
  admission: AdmissionOptions | undefined;
  maxPayload: number;
  heartbeatIntervalMs: number;
  legacy: boolean;
}

export function resolveOptions(input: AttachOptions | undefined): ResolvedAttachOptions {
  const options = input ?? {};
  if ((options.server === undefined) === (options.noServer !== true)) {
    throw invalid('give exactly one of `server` and `noServer: true`');
  }
  if (options.server !== undefined && typeof (options.server as { on?: unknown }).on !== 'function') {
    throw invalid('`server` must be an http(s) server');
  }
  if (options.legacy !== undefined && typeof options.legacy !== 'boolean') throw invalid('`legacy` must be a boolean');
  for (const moved of NODE_OPTIONS) {
    if (moved in options) throw invalid(`\`${moved}\` is an option of the node now: createEntitySync({ ${moved} })`);
  }
  const path = options.path ?? DEFAULT_PATH;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalid('`path` must start with "/"');
  return {
    server: options.server,
    path,
    origins: originCheck(options.origins),
    authenticate: optionalFunction(options.authenticate, 'authenticate'),
    admission: admissionOptions(options.admission),
    maxPayload: positiveInt(options.maxPayload, 64 * 1024, 'maxPayload'),
    heartbeatIntervalMs: nonNegativeInt(options.heartbeatIntervalMs, 30_000, 'heartbeatIntervalMs'),
    legacy: options.legacy ?? true,
  };
}

/** Per-connection policy, set once for the node (core options), no longer per transport. */
const NODE_OPTIONS = ['maxSubscriptionsPerConnection', 'highWaterMark', 'maxBufferedBytes', 'maxSlowMs', 'onPassThrough'];

function admissionOptions(value: AdmissionOptions | undefined): AdmissionOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalid('`admission` must be an object');
  for (const name of ['upgradesPerSecond', 'burst', 'maxPendingHandshakes', 'retryAfterSeconds'] as const) {
    if (value[name] !== undefined) positiveInt(value[name], 1, `admission.${name}`);
  }
  return value;
}

function originCheck(origins: AttachOptions['origins']): OriginCheck | undefined {
  if (origins === undefined || typeof origins === 'function') return origins;
  if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string')) {
    throw invalid('`origins` must be an array of strings or a function');
  }
  const allowed = new Set(origins);
  return (origin) => origin === undefined || allowed.has(origin);
}

function optionalFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(`\`${name}\` must be a function`);
  return value;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) throw invalid(`\`${name}\` must be a positive integer, got ${String(value)}`);
  return v;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) throw invalid(`\`${name}\` must be a non-negative integer, got ${String(value)}`);
  return v;
}

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `attachWebSocket: ${message}`);
}
