/** Options of {@link WebhookRelay}. */
export interface WebhookRelayOptions {
  /** Where each event is POSTed (`http:` or `https:`). */
  url: string;
  /** Attempts per event, the first included; then it counts as `failed`. @default 5 */
  maxAttempts?: number;
  /** The wait before the first retry; each further retry waits twice as long. @default 500 */
  baseDelayMs?: number;
  /** The longest wait between two attempts. @default 30000 */
  maxDelayMs?: number;
  /** Waits a random time between half and all of the delay, so many relays do not retry in step. @default true */
  jitter?: boolean;
  /** Events waiting at most; a new one past it drops the oldest waiting event (counted in `dropped`). @default 1000 */
  maxQueue?: number;
  /** How long one attempt may take before it is abandoned and retried. @default 10000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. a signature or a token for the receiver). @default {} */
  headers?: Record<string, string>;
}

export type ResolvedRelayOptions = Required<WebhookRelayOptions>;

const DEFAULTS = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, jitter: true, maxQueue: 1000, timeoutMs: 10_000, headers: {} };

/** Checks the options and fills in defaults; throws a `TypeError` naming the first bad option. */
export function resolveRelayOptions(options: WebhookRelayOptions): ResolvedRelayOptions {
  const resolved = { ...DEFAULTS, ...options };
  let url: URL | undefined;
  try {
    url = new URL(resolved.url);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`WebhookRelay: expected \`url\` to be an http(s) URL, got ${JSON.stringify(options.url)}`);
  }
  for (const name of ['maxAttempts', 'maxQueue'] as const) positiveInteger(name, resolved[name], 1);
  for (const name of ['baseDelayMs', 'maxDelayMs', 'timeoutMs'] as const) positiveInteger(name, resolved[name], 0);
  if (typeof resolved.jitter !== 'boolean')
    throw new TypeError(`WebhookRelay: expected \`jitter\` to be a boolean, got ${String(resolved.jitter)}`);
  return resolved;
}

function positiveInteger(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`WebhookRelay: expected \`${name}\` to be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

/** The wait before attempt `attempt` (2 for the first retry): exponential, capped, optionally jittered. */
export function backoffMs(options: ResolvedRelayOptions, attempt: number, random: () => number = Math.random): number {
  const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 2));
  return options.jitter ? Math.round(delay / 2 + (random() * delay) / 2) : delay;
}
