/** Params of a query key, e.g. `{ owner: '7', status: 'open' }`: a JSON object. */
export type Params = Readonly<Record<string, unknown>>;

/** The largest params object, as canonical JSON. */
export const MAX_PARAMS_BYTES = 1024;
/** The deepest nesting of objects and arrays inside params. */
export const MAX_PARAMS_DEPTH = 8;

const encoder = new TextEncoder();

/**
 * The canonical JSON of `params`: object keys sorted at every depth, arrays in order, no
 * whitespace. `{a:1,b:2}` and `{b:2,a:1}` give the same string, so they are one subscription and
 * one fetch. It is the `id` of a query key on the wire and in every map. Call
 * {@link paramsProblem} first: it throws on what is not JSON.
 */
export function canonicalParams(params: Params): string {
  return canonical(params);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  const fields = Object.keys(record)
    .filter((name) => record[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonical(record[name])}`);
  return `{${fields.join(',')}}`;
}

/**
 * Returns why `params` cannot be the params of a key, or `undefined` when it can: a plain JSON
 * object (strings, finite numbers, booleans, null, arrays and objects inside), at most
 * {@link MAX_PARAMS_DEPTH} deep and {@link MAX_PARAMS_BYTES} bytes as canonical JSON.
 */
export function paramsProblem(params: unknown): string | undefined {
  if (!isPlainObject(params)) return 'params must be a JSON object';
  const problem = jsonProblem(params, 1);
  if (problem !== undefined) return problem;
  if (encoder.encode(canonical(params)).length > MAX_PARAMS_BYTES) return `params must be at most ${MAX_PARAMS_BYTES} bytes as JSON`;
  return undefined;
}

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'params may hold finite numbers only';
  if (typeof value !== 'object') return `params may not hold a ${typeof value}`;
  if (depth > MAX_PARAMS_DEPTH) return `params may nest at most ${MAX_PARAMS_DEPTH} deep`;
  if (!Array.isArray(value) && !isPlainObject(value)) return 'params may hold plain objects and arrays only';
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const problem = jsonProblem(item, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
