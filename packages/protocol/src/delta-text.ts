import { type DeltaOp, diffJson } from './delta.js';

/**
 * The operations of {@link diffJson} from one JSON text to another, without parsing either
 * whole: the texts are compared from both ends, the smallest value that holds every difference
 * is found by scanning the common start, and only that value is parsed (in both texts) and
 * diffed. One field changed in a large document costs a scan of its text, not two parses.
 * Both texts must be JSON as `JSON.stringify` writes it (no whitespace); other text still gives
 * a right delta, only a larger one.
 */
export function diffJsonText(from: string, to: string): DeltaOp[] {
  if (from === to) return [];
  const shorter = Math.min(from.length, to.length);
  // Lengths of the common start and end (the end not overlapping the start in either text).
  const p = longest(shorter, (n) => from.slice(0, n) === to.slice(0, n));
  const s = longest(shorter - p, (n) => from.slice(from.length - n) === to.slice(to.length - n));
  for (const candidate of candidates(to, p)) {
    const fromEnd = skipValue(from, candidate.start);
    const toEnd = skipValue(to, candidate.start);
    // The value must hold every difference in both texts, and be followed by the same text.
    if (fromEnd < from.length - s || toEnd < to.length - s || from.length - fromEnd !== to.length - toEnd) continue;
    const path = candidate.path.map((step) => (typeof step === 'number' ? step : (JSON.parse(to.slice(step.from, step.to)) as string)));
    if (path.includes('__proto__')) break;
    const value = JSON.parse(to.slice(candidate.start, toEnd)) as unknown;
    // A primitive, or an element appended (`from` has none there): set it.
    if (typeof value !== 'object' || value === null || fromEnd === candidate.start) return [[path, value]];
    const ops = diffJson(JSON.parse(from.slice(candidate.start, fromEnd)), value);
    return path.length === 0 ? ops : ops.map((op) => (op.length > 1 ? [[...path, ...op[0]], op[1]] : [[...path, ...op[0]]]));
  }
  return diffJson(JSON.parse(from), JSON.parse(to));
}

/**
 * The largest `n <= max` for which `same(n)` holds, `same` being true up to some length and false
 * after it. A binary search over string comparisons, which run natively: faster than comparing
 * the texts a character at a time in JavaScript.
 */
function longest(max: number, same: (n: number) => boolean): number {
  let low = 0;
  let high = max;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (same(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** An object key by where its JSON string is in the text, or an array index. */
type Step = number | { from: number; to: number };

/** A container open at the scan position, and the child of it being read. */
interface Frame {
  readonly start: number;
  readonly array: boolean;
  /** Arrays: the index of the element being read. */
  index: number;
  /** Objects: the key being read (where its string is), and whether a key comes next. */
  key: { from: number; to: number } | undefined;
  expectKey: boolean;
  /** Where the child being read starts; -1 before it started. */
  childStart: number;
}

interface Candidate {
  start: number;
  path: Step[];
}

/**
 * The values that may hold the first difference, at `p`, innermost first: the child being read
 * at `p` (when known), then each container open at `p`, out to the whole text.
 */
function candidates(text: string, p: number): Candidate[] {
  const { stack, inKey } = scan(text, p);
  const steps = stack.map((f): Step | undefined => (f.array ? f.index : f.key));
  const found: Candidate[] = [];
  const top = stack.at(-1);
  const pathTo = (depth: number): Step[] | undefined => {
    const path = steps.slice(0, depth);
    return path.includes(undefined) ? undefined : (path as Step[]);
  };
  if (top === undefined) {
    found.push({ start: 0, path: [] });
  } else if (!inKey && (top.array || !top.expectKey)) {
    const start = top.childStart === -1 ? p : top.childStart;
    const path = pathTo(stack.length);
    if (path !== undefined && startsValue(text.charCodeAt(start))) found.push({ start, path });
  }
  for (let depth = stack.length - 1; depth >= 0; depth--) {
    const path = pathTo(depth);
    if (path !== undefined) found.push({ start: stack[depth]!.start, path });
  }
  return found;
}

/** Scans `text` up to `p`: the containers open there, and whether `p` is inside an object key. */
function scan(text: string, p: number): { stack: Frame[]; inKey: boolean } {
  const stack: Frame[] = [];
  let i = 0;
  while (i < p) {
    const c = text.charCodeAt(i);
    const top = stack.at(-1);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (top !== undefined && !top.array && top.expectKey) {
        if (end > p) return { stack, inKey: true };
        top.key = { from: i, to: end };
        top.expectKey = false;
      } else if (top !== undefined && top.childStart === -1) {
        top.childStart = i;
      }
      i = end;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (top !== undefined && top.childStart === -1) top.childStart = i;
      stack.push({ start: i, array: c === OPEN_ARRAY, index: 0, key: undefined, expectKey: c === OPEN_OBJECT, childStart: -1 });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA && top !== undefined) {
      top.childStart = -1;
      if (top.array) top.index++;
      else top.expectKey = true;
    } else if (c !== COLON && !isSpace(c) && top !== undefined && top.childStart === -1) {
      top.childStart = i; // a number, true, false or null
    }
    i++;
  }
  return { stack, inKey: false };
}

/** The index just past the JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
    while (i < text.length && !endsPrimitive(text.charCodeAt(i))) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === QUOTE) {
      i = stringEnd(text, i);
      continue;
    }
    if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
    else if ((d === CLOSE_OBJECT || d === CLOSE_ARRAY) && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

/**
 * The index just past the JSON string whose opening quote is at `i`: the next quote not escaped
 * (preceded by an even number of backslashes), found with `indexOf`, which runs natively.
 */
function stringEnd(text: string, i: number): number {
  for (let from = i + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function endsPrimitive(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c);
}

function startsValue(c: number): boolean {
  return !Number.isNaN(c) && c !== COMMA && c !== COLON && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && !isSpace(c);
}
