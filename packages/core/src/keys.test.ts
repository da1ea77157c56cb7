import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EntityKey, keyProblem, keyString, keySubject, parseKeyString } from './keys.js';

const SUBJECT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_=-]+$/;
/** One NATS token: no wildcard, no separator, no whitespace, not empty. */
const NATS_TOKEN = /^[^\s.*>]+$/;

const entityName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const anyId = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '.', '*', '>', ' ', 'a.b', 'a.*', '>.>', '\t\n', '=', '/', 'é', '😀', '\u0000'),
);
const validId = anyId.filter((id) => Buffer.byteLength(id, 'utf8') <= 256);
const key = fc.record({ entity: entityName, id: validId });

describe('keyProblem', () => {
  it('accepts valid keys', () => {
    for (const k of [
      { entity: 'items', id: '100' },
      { entity: 'a', id: '' },
      { entity: 'A-z_0-9', id: 'x'.repeat(256) },
      { entity: 'x'.repeat(64), id: 'é'.repeat(128) },
    ]) {
      expect(keyProblem(k)).toBeUndefined();
    }
  });

  it('rejects bad entity names and long ids', () => {
    for (const entity of ['', 'a.b', 'a b', 'a/b', 'é', 'x'.repeat(65), 'a*', 'a>', 'items\n']) {
      expect(keyProblem({ entity, id: '1' })).toBe('entity must match ^[A-Za-z0-9_-]{1,64}$');
    }
    for (const id of ['x'.repeat(257), 'é'.repeat(129), '😀'.repeat(65)]) {
      expect(keyProblem({ entity: 'items', id })).toBe('id must be at most 256 bytes');
    }
  });
});

describe('keyString', () => {
  it('does not let a/b.c collide with a.b/c (the Go bug)', () => {
    expect(keyString({ entity: 'a', id: 'b.c' })).not.toBe(keyString({ entity: 'a.b', id: 'c' }));
    // Entity names cannot contain `/`, so the first `/` always ends the name.
    expect(keyString({ entity: 'a', id: 'b/c' })).not.toBe(keyString({ entity: 'a-b', id: 'c' }));
  });

  it('round-trips through parseKeyString, whatever the id', () => {
    for (const k of [
      { entity: 'a', id: 'b/c' },
      { entity: 'items', id: '' },
      { entity: 'items', id: '/' },
      { entity: 'items', id: '//x/' },
    ]) {
      expect(parseKeyString(keyString(k))).toEqual(k);
    }
  });

  it('is injective on valid keys (property)', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(parseKeyString(keyString(a))).toEqual(a);
        if (a.entity !== b.entity || a.id !== b.id) expect(keyString(a)).not.toBe(keyString(b));
      }),
      { numRuns: 2000 },
    );
  }, 30_000);
});

describe('keySubject', () => {
  const tricky = ['a.b', 'a.*', '*', '>', 'a b', ' ', '\t', 'é', '😀 ok', '', '=', '-', '_', 'a/b', 'b.c'];

  it('turns every id into one NATS-safe token, all distinct', () => {
    const subjects = new Set<string>();
    for (const id of tricky) {
      const subject = keySubject('entity-sync', { entity: 'items', id });
      expect(subject).toMatch(SUBJECT);
      const tokens = subject.split('.');
      expect(tokens).toHaveLength(3);
      expect(tokens.slice(0, 2)).toEqual(['entity-sync', 'items']);
      expect(tokens[2]).toMatch(NATS_TOKEN);
      subjects.add(subject);
    }
    expect(subjects.size).toBe(tricky.length);
  });

  it('gives the empty id its own token', () => {
    expect(keySubject('entity-sync', { entity: 'items', id: '' })).toBe('entity-sync.items.=');
  });

  it('keeps a/b.c and a.b/c apart (entity names cannot contain dots)', () => {
    expect(keySubject('p', { entity: 'a', id: 'b.c' })).not.toBe(keySubject('p', { entity: 'a-b', id: 'c' }));
  });

  it('keeps a multi-token prefix in front', () => {
    expect(keySubject('app.prod', { entity: 'items', id: '1' })).toBe(`app.prod.items.${Buffer.from('1').toString('base64url')}`);
  });

  it('random ids give well-formed subjects (property)', () => {
    fc.assert(
      fc.property(key, (k) => {
        expect(keySubject('entity-sync', k)).toMatch(SUBJECT);
      }),
      { numRuns: 3000 },
    );
  }, 30_000);

  it('distinct keys give distinct subjects (property)', () => {
    const pair = fc.oneof(
      fc.tuple(key, key),
      // Same entity, ids close to each other: the likeliest way to collide.
      fc.tuple(entityName, validId, validId).map(([entity, a, b]): [EntityKey, EntityKey] => [
        { entity, id: a },
        { entity, id: b },
      ]),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const same = a.entity === b.entity && a.id === b.id;
        expect(keySubject('entity-sync', a) === keySubject('entity-sync', b)).toBe(same);
      }),
      { numRuns: 3000 },
    );
  }, 30_000);
});
