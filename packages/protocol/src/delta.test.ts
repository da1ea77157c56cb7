import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, diffJson } from './delta.js';
import { diffJsonText } from './delta-text.js';

/** JSON values over few keys (integer-like ones and `__proto__` included), so pairs share structure. */
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, 1, 'x', ''),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 4 }),
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', '1', '7', '__proto__', 'constructor'), tie('json'), { maxKeys: 6 }),
  ),
}));

/** As a client holds it: what JSON.parse gives back. */
const parsed = json.map((v) => JSON.parse(JSON.stringify(v)) as unknown);

describe('diffJson and applyDelta', () => {
  it('apply(diff(a, b), a) gives b, to the byte of its JSON, and leaves a as it was', () => {
    fc.assert(
      fc.property(parsed, parsed, (a, b) => {
        const before = JSON.stringify(a);
        const result = applyDelta(a, diffJson(a, b));
        expect(JSON.stringify(result)).toBe(JSON.stringify(b));
        expect(result).toEqual(b);
        expect(JSON.stringify(a)).toBe(before);
      }),
      { numRuns: 1000 },
    );
  }, 60_000);

  it('diffJsonText(JSON of a, JSON of b) gives the operations of diffJson(a, b)', () => {
    fc.assert(
      fc.property(parsed, parsed, (a, b) => {
        const ops = diffJsonText(JSON.stringify(a), JSON.stringify(b));
        expect(JSON.stringify(applyDelta(a, ops))).toBe(JSON.stringify(b));
        expect(ops).toEqual(diffJson(a, b));
      }),
      { numRuns: 1000 },
    );
  }, 60_000);

  it('diffJsonText finds one change deep in a large document, and changes near each other', () => {
    const rows = Array.from({ length: 50 }, (_, n) => ({ n, text: `row ${n}`, tags: ['a', 'b'] }));
    const from = { id: 'd', title: 'first', rows };
    const check = (to: unknown, expected: unknown) => {
      const ops = diffJsonText(JSON.stringify(from), JSON.stringify(to));
      expect(ops).toEqual(expected);
      expect(JSON.stringify(applyDelta(from, ops))).toBe(JSON.stringify(to));
    };
    const changed = (i: number, row: object) => rows.map((r, n) => (n === i ? row : r));
    check({ ...from, title: 'second' }, [[['title'], 'second']]);
    check({ ...from, title: 'say "hi" \\', rows: changed(9, { n: 9, text: '\\"', tags: [] }) }, [
      [['title'], 'say "hi" \\'],
      [['rows', 9, 'text'], '\\"'],
      [['rows', 9, 'tags', 0]],
    ]);
    check({ ...from, rows: changed(30, { n: 30, text: 'row 30!', tags: ['a', 'b'] }) }, [[['rows', 30, 'text'], 'row 30!']]);
    check({ ...from, rows: changed(7, { n: 7, text: 'row 7', tags: ['a'] }) }, [[['rows', 7, 'tags', 1]]]);
    check({ ...from, rows: changed(7, { n: 7, text: 'row 7', tags: ['a', 'b'], more: 1 }) }, [[['rows', 7, 'more'], 1]]);
    check({ ...from, rows: [...rows, { n: 50 }] }, [[['rows', 50], { n: 50 }]]);
    check({ ...from, rows: changed(3, { n: 3, text: 'row 3', tags: ['a', 'b'] }) }, []);
    check('plain', [[[], 'plain']]);
  });

  it('gives no operations for equal values', () => {
    fc.assert(
      fc.property(parsed, (a) => {
        expect(diffJson(a, structuredClone(a))).toEqual([]);
      }),
    );
  });

  it('names only what changed: a key set, a key removed, an element appended, an array shortened', () => {
    const from = { id: '1', title: 'a', tags: ['x', 'y', 'z'], meta: { n: 1, old: true } };
    const to = { id: '1', title: 'b', tags: ['x', 'y'], meta: { n: 1, added: [1] } };
    expect(diffJson(from, to)).toEqual([[['title'], 'b'], [['tags', 2]], [['meta', 'old']], [['meta', 'added'], [1]]]);
    expect(diffJson([1], [1, 2, 3])).toEqual([
      [[1], 2],
      [[2], 3],
    ]);
  });

  it('sets a whole object whose key order applying could not reproduce', () => {
    expect(diffJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual([[[], { b: 2, a: 1 }]]);
    expect(diffJson({ x: { a: 1 } }, { x: { '1': 0, a: 1 } })).toEqual([[['x'], { '1': 0, a: 1 }]]);
  });

  it('sets the whole value when its type changes', () => {
    expect(diffJson({ a: 1 }, [1])).toEqual([[[], [1]]]);
    expect(diffJson(null, { a: 1 })).toEqual([[[], { a: 1 }]]);
    expect(applyDelta({ a: 1 }, [[[], 'x']])).toBe('x');
  });

  it('never puts __proto__ in a path, so applying cannot touch a prototype', () => {
    const from = JSON.parse('{"__proto__":{"polluted":1},"a":1}') as unknown;
    const to = JSON.parse('{"__proto__":{"polluted":2},"a":1}') as unknown;
    const ops = diffJson(from, to);
    expect(ops.every(([path]) => !path.includes('__proto__'))).toBe(true);
    expect(JSON.stringify(applyDelta(from, ops))).toBe(JSON.stringify(to));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('copies only the changed path: untouched branches are shared with the old value', () => {
    const from = { big: { list: [1, 2, 3] }, small: { n: 1 } };
    const result = applyDelta(from, diffJson(from, { big: from.big, small: { n: 2 } })) as typeof from;
    expect(result.big).toBe(from.big);
    expect(result.small).toEqual({ n: 2 });
    expect(from.small.n).toBe(1);
  });
});
