/**
 * Delta frames (v1, negotiated): a JSON structural diff from the value a client holds to the
 * current one. docs/protocol.md ("delta") is the contract; in short, a delta is a list of
 * operations applied in order, each naming a path of object keys and array indexes from the
 * root of the value:
 *
 * - `[path, value]` sets what the path names: an object key (added or replaced), an array
 *   element (replaced, or appended when the index is the array's length), or the whole value
 *   (empty path).
 * - `[path]` removes: an object's key, or, when the path ends in an array index, that element
 *   and every one after it (arrays shrink from the end only).
 *
 * Arrays are compared index by index; objects key by key. Where applying keys in that order
 * would not reproduce the new value's key order (so not its JSON, so not its fingerprint), the
 * whole object is set instead.
 */

/** One step of a path: an object key or an array index. */
export type DeltaPathStep = string | number;

/** One operation: `[path, value]` sets, `[path]` removes. */
export type DeltaOp = readonly [path: readonly DeltaPathStep[], value: unknown] | readonly [path: readonly DeltaPathStep[]];

/**
 * The operations that turn `from` into `to`; both are parsed JSON (plain objects, arrays,
 * strings, finite numbers, booleans, `null`). Equal values give no operations.
 */
export function diffJson(from: unknown, to: unknown): DeltaOp[] {
  const ops: DeltaOp[] = [];
  walk(from, to, [], ops);
  return ops;
}

function walk(from: unknown, to: unknown, path: DeltaPathStep[], ops: DeltaOp[]): void {
  if (from === to) return;
  if (typeof from !== 'object' || typeof to !== 'object' || from === null || to === null) {
    ops.push([[...path], to]);
  } else if (isRecord(from) && isRecord(to)) {
    if (!diffObject(from, to, path, ops)) ops.push([[...path], to]);
  } else if (Array.isArray(from) && Array.isArray(to)) {
    diffArray(from, to, path, ops);
  } else {
    ops.push([[...path], to]);
  }
}

/** Adds the operations of one object; false when the whole object must be set instead. */
function diffObject(from: Record<string, unknown>, to: Record<string, unknown>, path: DeltaPathStep[], ops: DeltaOp[]): boolean {
  const fromKeys = Object.keys(from);
  const toKeys = Object.keys(to);
  if (sameKeys(fromKeys, toKeys) && !Object.hasOwn(to, '__proto__')) {
    // The common case, and the fast one: the same keys in the same order.
    for (const key of toKeys) {
      const a = from[key];
      const b = to[key];
      if (a === b) continue;
      path.push(key);
      walk(a, b, path, ops);
      path.pop();
    }
    return true;
  }
  if (!keepsOrder(fromKeys, to, toKeys)) return false;
  // Applying would set a prototype, not a key named `__proto__`: such objects are set whole.
  if (Object.hasOwn(from, '__proto__') || Object.hasOwn(to, '__proto__')) return deepEqual(from, to);
  for (const key of fromKeys) if (!Object.hasOwn(to, key)) ops.push([[...path, key]]);
  for (const key of toKeys) {
    path.push(key);
    if (Object.hasOwn(from, key)) walk(from[key], to[key], path, ops);
    else ops.push([[...path], to[key]]);
    path.pop();
  }
  return true;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether removing the keys `to` lacks and appending its new ones (what applying does) gives
 * `to`'s key order: the kept keys, in `from`'s order, must be the first keys of `to`.
 */
function keepsOrder(fromKeys: readonly string[], to: Record<string, unknown>, toKeys: readonly string[]): boolean {
  let i = 0;
  for (const key of fromKeys) if (Object.hasOwn(to, key) && toKeys[i++] !== key) return false;
  return true;
}

function diffArray(from: readonly unknown[], to: readonly unknown[], path: DeltaPathStep[], ops: DeltaOp[]): void {
  const common = Math.min(from.length, to.length);
  for (let i = 0; i < common; i++) {
    path.push(i);
    walk(from[i], to[i], path, ops);
    path.pop();
  }
  if (to.length < from.length) ops.push([[...path, to.length]]);
  for (let i = common; i < to.length; i++) ops.push([[...path, i], to[i]]);
}

/**
 * Applies `ops` (see {@link diffJson}) to `value` and returns the result. `value` is left as it
 * was: every object and array on a changed path is copied. A delta that does not fit the value
 * gives a wrong result rather than an error: check the result's fingerprint.
 */
export function applyDelta(value: unknown, ops: readonly DeltaOp[]): unknown {
  const root = [value] as unknown as Record<DeltaPathStep, unknown>;
  const copies = new Set<unknown>();
  for (const op of ops) {
    let node = root;
    let key: DeltaPathStep = 0;
    for (const step of op[0]) {
      let child = node[key];
      if (!copies.has(child)) {
        copies.add((child = Array.isArray(child) ? [...child] : { ...(child as object) }));
        node[key] = child;
      }
      node = child as Record<DeltaPathStep, unknown>;
      key = step;
    }
    if (op.length > 1) node[key] = op[1];
    else if (Array.isArray(node)) node.length = key as number;
    else delete node[key];
  }
  return root[0];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  const other = Object.keys(b);
  return keys.length === other.length && keys.every((k, i) => other[i] === k && deepEqual(a[k], b[k]));
}
