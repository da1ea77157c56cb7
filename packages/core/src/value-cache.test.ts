import { describe, expect, it } from 'vitest';
import type { KeyString } from './keys.js';
import { type Cached, ValueCache } from './value-cache.js';

const k = (id: string) => `items/${id}` as KeyString;
const value = (seq: number, at = 0): Cached => ({ values: [seq], batch: undefined, seq, at });

describe('ValueCache', () => {
  it('keeps one value per (key, group) and never serves it to another group', () => {
    const cache = new ValueCache(1_000, 10);
    cache.put(k('1'), 's:alice', value(1));
    cache.put(k('1'), 's:bob', value(2));
    expect(cache.get(k('1'), 's:alice', 0)?.seq).toBe(1);
    expect(cache.get(k('1'), 's:bob', 0)?.seq).toBe(2);
    expect(cache.get(k('1'), '', 0)).toBeUndefined();
    expect(cache.get(k('2'), 's:alice', 0)).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('a newer value of the same (key, group) replaces the older one', () => {
    const cache = new ValueCache(1_000, 10);
    cache.put(k('1'), '', value(1));
    cache.put(k('1'), '', value(5));
    expect(cache.get(k('1'), '', 0)?.seq).toBe(5);
    expect(cache.size).toBe(1);
  });

  it('a group whose length would make another (key, group) pair collide stays apart', () => {
    const cache = new ValueCache(1_000, 10);
    cache.put('b/1' as KeyString, 'a', value(1));
    cache.put('1' as KeyString, 'ab/', value(2));
    expect(cache.get('b/1' as KeyString, 'a', 0)?.seq).toBe(1);
    expect(cache.get('1' as KeyString, 'ab/', 0)?.seq).toBe(2);
    expect(cache.size).toBe(2);
  });

  it('holds at most maxEntries: the oldest put goes first', () => {
    const cache = new ValueCache(1_000, 3);
    for (const id of ['1', '2', '3', '4']) cache.put(k(id), '', value(Number(id)));
    expect(cache.size).toBe(3);
    expect(cache.get(k('1'), '', 0)).toBeUndefined();
    expect(cache.get(k('4'), '', 0)?.seq).toBe(4);
    // Putting key 2 again makes it the youngest: 3 goes next.
    cache.put(k('2'), '', value(6));
    cache.put(k('5'), '', value(7));
    expect(cache.get(k('3'), '', 0)).toBeUndefined();
    expect(cache.get(k('2'), '', 0)?.seq).toBe(6);
    expect(cache.size).toBe(3);
  });

  it('serves a value for ttlMs after it was put or last served, not after', () => {
    const cache = new ValueCache(100, 10);
    cache.put(k('1'), '', value(1, 1_000));
    cache.put(k('2'), '', value(2, 1_000));
    expect(cache.get(k('1'), '', 1_100)?.seq).toBe(1);
    expect(cache.get(k('1'), '', 1_200)?.seq).toBe(1); // served at 1,100: kept until 1,200
    expect(cache.get(k('1'), '', 1_301)).toBeUndefined();
    expect(cache.get(k('2'), '', 1_101)).toBeUndefined(); // never served since it was put
    expect(cache.size).toBe(0); // an expired entry is dropped when met
  });

  it('invalidate drops a key for every group, and only that key', () => {
    const cache = new ValueCache(1_000, 10);
    cache.put(k('1'), 'a', value(1));
    cache.put(k('1'), 'b', value(2));
    cache.put(k('2'), 'a', value(3));
    cache.invalidate(k('1'));
    expect(cache.get(k('1'), 'a', 0)).toBeUndefined();
    expect(cache.get(k('1'), 'b', 0)).toBeUndefined();
    expect(cache.get(k('2'), 'a', 0)?.seq).toBe(3);
    expect(cache.size).toBe(1);
    cache.invalidate(k('9')); // unknown: no-op
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get(k('2'), 'a', 0)).toBeUndefined();
  });

  it('ttlMs 0 or maxEntries 0 turns it off', () => {
    for (const cache of [new ValueCache(0, 10), new ValueCache(1_000, 0)]) {
      expect(cache.enabled).toBe(false);
      cache.put(k('1'), '', value(1));
      expect(cache.get(k('1'), '', 0)).toBeUndefined();
      expect(cache.size).toBe(0);
    }
  });
});
