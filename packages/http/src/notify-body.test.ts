import { describe, expect, it } from 'vitest';
import { parseEntry, parseNotifyBody } from './notify-body.js';

describe('parseNotifyBody', () => {
  it('takes keys and tags, or a resync', () => {
    const keys = [{ entity: 'items', id: '1' }, { tag: 'todos/owner/7' }];
    expect(parseNotifyBody({ keys }, 10)).toEqual({ ok: true, request: { kind: 'keys', entries: keys } });
    expect(parseNotifyBody({ resync: true }, 10)).toEqual({ ok: true, request: { kind: 'resync' } });
  });

  it('keeps only entity and id of an entry, and ignores other fields of the body', () => {
    const parsed = parseNotifyBody({ keys: [{ entity: 'items', id: '1', extra: 1 }], source: 'cron' }, 10);
    expect(parsed).toEqual({ ok: true, request: { kind: 'keys', entries: [{ entity: 'items', id: '1' }] } });
  });

  it('refuses more than maxKeys entries with 413 before looking at them', () => {
    const parsed = parseNotifyBody({ keys: [1, 2, 3] }, 2);
    expect(parsed).toMatchObject({ ok: false, reply: { status: 413, body: { error: { code: 'TOO_MANY_KEYS', limit: 2 } } } });
  });

  it('names the first bad entry', () => {
    const parsed = parseNotifyBody({ keys: [{ entity: 'items', id: '1' }, { entity: 'items' }, 5] }, 10);
    expect(parsed).toMatchObject({
      ok: false,
      reply: { status: 400, body: { error: { code: 'INVALID_KEY', index: 1, message: 'keys[1]: "id" must be a string, got missing' } } },
    });
  });
});

describe('parseEntry', () => {
  it('returns the key, or why it is not one', () => {
    expect(parseEntry({ entity: 'items', id: '' })).toEqual({ entity: 'items', id: '' });
    expect(parseEntry({ tag: 'team:1', extra: true })).toEqual({ tag: 'team:1' });
    expect(parseEntry({ tag: 'x'.repeat(256) })).toEqual({ tag: 'x'.repeat(256) });
    expect(parseEntry({ tag: 'x'.repeat(257) })).toBe('a tag must be at most 256 bytes, got 257 bytes');
    expect(parseEntry({ tag: '' })).toBe('a tag is a non-empty string, got string ""');
    expect(parseEntry({ tag: null })).toBe('a tag is a non-empty string, got null');
    expect(parseEntry({ tag: ['a'] })).toBe('a tag is a non-empty string, got an array');
    expect(parseEntry({ tag: 'a', entity: 'items' })).toMatch(/^give either a key or a tag, not both/);
    expect(parseEntry({ entity: 'items', id: null })).toBe('"id" must be a string, got null');
    expect(parseEntry({ entity: 1, id: '1' })).toBe('"entity" must be a string, got number 1');
    expect(parseEntry({ entity: 'it ems', id: '1' })).toBe('entity must match ^[A-Za-z0-9_-]{1,64}$');
    expect(parseEntry([])).toMatch(/^an entry is a key \{"entity": string, "id": string\} or a tag \{"tag": string\}, got an array$/);
  });
});
