import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  type ParseResult,
  type ProtocolMode,
  MAX_SECRET_LENGTH,
  ackFrame,
  dataFramePrefix,
  errorFrame,
  parseClientMessage,
} from './protocol.js';

const MODES: ProtocolMode[] = ['legacy', 'v1'];

function parse(value: unknown, mode: ProtocolMode = 'v1'): ParseResult {
  return parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value), mode);
}

function ok(value: unknown, mode: ProtocolMode = 'v1'): ClientMessage {
  const result = parse(value, mode);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(value)} to parse, got ${JSON.stringify(result.error)}`);
  return result.message;
}

const items100 = { entity: 'items', id: '100' };

describe.each(MODES)('parseClientMessage (%s)', (mode) => {
  it('parses the three actions', () => {
    expect(ok({ action: 'subscribe', body: items100 }, mode)).toEqual({ action: 'subscribe', keys: [{ ok: true, key: items100 }] });
    expect(ok({ action: 'unsubscribe', body: items100 }, mode)).toEqual({ action: 'unsubscribe', keys: [{ ok: true, key: items100 }] });
    expect(ok({ action: 'secret', body: 'my-super-secret-secret-123' }, mode)).toEqual({
      action: 'secret',
      secret: 'my-super-secret-secret-123',
    });
  });

  it('resets the secret with a null or missing body', () => {
    expect(ok({ action: 'secret', body: null }, mode)).toEqual({ action: 'secret', secret: '' });
    expect(ok({ action: 'secret' }, mode)).toEqual({ action: 'secret', secret: '' });
  });

  it('rejects invalid JSON', () => {
    for (const text of ['', 'not json', '{', '{"action":"subscribe"', "{'action':'subscribe'}", '\u0000']) {
      expect(parseClientMessage(text, mode)).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message: 'frame is not valid JSON' } });
    }
  });

  it('rejects JSON that is not an object, except null', () => {
    for (const text of ['[]', '[{"action":"subscribe"}]', '42', '"subscribe"', 'true', 'false']) {
      expect(parseClientMessage(text, mode)).toEqual({
        ok: false,
        error: { code: 'BAD_MESSAGE', message: 'message must be a JSON object' },
      });
    }
  });

  it('passes null and messages without an action through', () => {
    expect(ok('null', mode)).toEqual({ action: 'passthrough', message: null });
    expect(ok({ hello: 'world' }, mode)).toEqual({ action: 'passthrough', message: { hello: 'world' } });
    expect(ok({ action: '', body: 1 }, mode)).toEqual({ action: 'passthrough', message: { action: '', body: 1 } });
    expect(ok({ action: null }, mode)).toEqual({ action: 'passthrough', message: { action: null } });
    expect(ok({}, mode)).toEqual({ action: 'passthrough', message: {} });
  });

  it('rejects an unknown or non-string action', () => {
    expect(parse({ action: 'dance' }, mode)).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message: 'unknown action "dance"' } });
    expect(parse({ action: 'Subscribe', body: items100 }, mode)).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
    for (const action of [5, true, {}, ['subscribe']]) {
      expect(parse({ action, body: items100 }, mode)).toEqual({
        ok: false,
        error: { code: 'BAD_MESSAGE', message: 'action must be a string' },
      });
    }
  });

  it('truncates a long unknown action in the message', () => {
    const result = parse({ action: 'x'.repeat(10_000) }, mode);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message.length).toBeLessThan(100);
  });

  it('rejects a missing or wrong-typed subscribe body', () => {
    for (const body of [undefined, null, 'items/100', 100, true]) {
      for (const action of ['subscribe', 'unsubscribe']) {
        expect(parse({ action, body }, mode)).toEqual({
          ok: false,
          error: { code: 'BAD_MESSAGE', message: 'body must be a key {"entity","id"} or, in v1, an array of keys' },
        });
      }
    }
  });

  it('rejects a wrong-typed secret body', () => {
    for (const body of [42, true, {}, ['a']]) {
      expect(parse({ action: 'secret', body }, mode)).toEqual({
        ok: false,
        error: { code: 'BAD_MESSAGE', message: 'secret body must be a string or null' },
      });
    }
  });

  it('accepts a secret of 8 KiB and rejects a longer one', () => {
    expect(ok({ action: 'secret', body: 's'.repeat(MAX_SECRET_LENGTH) }, mode)).toEqual({
      action: 'secret',
      secret: 's'.repeat(MAX_SECRET_LENGTH),
    });
    expect(parse({ action: 'secret', body: 's'.repeat(MAX_SECRET_LENGTH + 1) }, mode)).toEqual({
      ok: false,
      error: { code: 'INVALID_SECRET', message: 'secret must be at most 8192 characters' },
    });
    expect(parse({ action: 'secret', body: 'é'.repeat(MAX_SECRET_LENGTH + 1) }, mode)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_SECRET' },
    });
  });

  it('reports an invalid key in the entry, echoing what is known', () => {
    const entry = (body: unknown): unknown => {
      const message = ok({ action: 'subscribe', body }, mode);
      return message.action === 'subscribe' ? message.keys[0] : undefined;
    };
    expect(entry({ entity: 'items', id: 100 })).toEqual({ ok: false, problem: 'id must be a string', entity: 'items' });
    expect(entry({ entity: 'items' })).toEqual({ ok: false, problem: 'id must be a string', entity: 'items' });
    expect(entry({ id: '1' })).toEqual({ ok: false, problem: 'entity must be a string', id: '1' });
    expect(entry({})).toEqual({ ok: false, problem: 'entity must be a string' });
    expect(entry({ entity: 7, id: '1' })).toEqual({ ok: false, problem: 'entity must be a string', id: '1' });
    for (const entity of ['', 'it.ems', 'items/x', 'ité', 'a b', 'a*', 'x'.repeat(65)]) {
      expect(entry({ entity, id: '1' })).toMatchObject({ ok: false, problem: 'entity must match ^[A-Za-z0-9_-]{1,64}$', id: '1' });
    }
    expect(entry({ entity: 'it.ems', id: '1' })).toEqual({
      ok: false,
      problem: 'entity must match ^[A-Za-z0-9_-]{1,64}$',
      entity: 'it.ems',
      id: '1',
    });
    expect(entry({ entity: 'x'.repeat(64), id: '1' })).toEqual({ ok: true, key: { entity: 'x'.repeat(64), id: '1' } });
  });

  it('accepts ids up to 256 UTF-8 bytes', () => {
    const entry = (id: string): unknown => {
      const message = ok({ action: 'subscribe', body: { entity: 'items', id } }, mode);
      return message.action === 'subscribe' ? message.keys[0] : undefined;
    };
    for (const id of ['', 'a'.repeat(256), 'é'.repeat(128), '😀'.repeat(64), 'a.b', '*', '>', ' ', '/']) {
      expect(entry(id)).toEqual({ ok: true, key: { entity: 'items', id } });
    }
    for (const id of ['a'.repeat(257), 'é'.repeat(129), `${'a'.repeat(255)}é`, `${'😀'.repeat(64)}a`]) {
      expect(entry(id)).toEqual({ ok: false, problem: 'id must be at most 256 bytes', entity: 'items', id });
    }
    // A huge id is echoed truncated.
    const huge = entry('a'.repeat(5000)) as { id: string };
    expect(huge.id.length).toBeLessThan(400);
  });

  it('matches field names case-insensitively (as Go does)', () => {
    expect(ok({ ACTION: 'subscribe', BODY: { Entity: 'items', ID: '100' } }, mode)).toEqual({
      action: 'subscribe',
      keys: [{ ok: true, key: items100 }],
    });
    expect(ok({ Action: 'secret', Body: 'x' }, mode)).toEqual({ action: 'secret', secret: 'x' });
  });

  it('takes the last of duplicate fields', () => {
    expect(ok('{"action":"unsubscribe","action":"subscribe","body":{"entity":"items","id":"1","id":"2"}}', mode)).toEqual({
      action: 'subscribe',
      keys: [{ ok: true, key: { entity: 'items', id: '2' } }],
    });
    expect(ok('{"Action":"unsubscribe","action":"subscribe","body":{"entity":"items","ID":"1","id":"2"}}', mode)).toEqual({
      action: 'subscribe',
      keys: [{ ok: true, key: { entity: 'items', id: '2' } }],
    });
    expect(ok('{"action":"unsubscribe","ACTION":"subscribe","body":{"entity":"items","id":"1","Id":"2"}}', mode)).toEqual({
      action: 'subscribe',
      keys: [{ ok: true, key: { entity: 'items', id: '2' } }],
    });
  });

  it('ignores unknown fields', () => {
    expect(ok({ action: 'subscribe', body: { entity: 'items', id: '100', extra: [1] }, extra: { a: 1 }, type: 'data' }, mode)).toEqual({
      action: 'subscribe',
      keys: [{ ok: true, key: items100 }],
    });
  });

  it('does not read fields through __proto__', () => {
    expect(ok('{"__proto__":{"action":"subscribe","body":{"entity":"items","id":"1"}}}', mode)).toMatchObject({ action: 'passthrough' });
    const message = ok('{"action":"subscribe","body":{"__proto__":{"entity":"items","id":"1"}}}', mode);
    expect(message).toEqual({ action: 'subscribe', keys: [{ ok: false, problem: 'entity must be a string' }] });
  });
});

describe('parseClientMessage: batches and refs', () => {
  it('v1 accepts an array of keys, each checked on its own', () => {
    expect(ok({ action: 'subscribe', body: [items100, { entity: 'items', id: 5 }, 'x', { entity: 'a.b', id: 'c' }] })).toEqual({
      action: 'subscribe',
      keys: [
        { ok: true, key: items100 },
        { ok: false, problem: 'id must be a string', entity: 'items' },
        { ok: false, problem: 'key must be an object {"entity","id"}' },
        { ok: false, problem: 'entity must match ^[A-Za-z0-9_-]{1,64}$', entity: 'a.b', id: 'c' },
      ],
    });
    expect(ok({ action: 'unsubscribe', body: [items100] })).toEqual({ action: 'unsubscribe', keys: [{ ok: true, key: items100 }] });
  });

  it('v1 rejects an empty batch', () => {
    expect(parse({ action: 'subscribe', body: [], ref: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE', ref: 1 } });
  });

  it('legacy rejects array bodies', () => {
    expect(parse({ action: 'subscribe', body: [items100] }, 'legacy')).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'body must be a key {"entity","id"} or, in v1, an array of keys' },
    });
    expect(parse({ action: 'unsubscribe', body: [items100] }, 'legacy')).toMatchObject({ ok: false });
  });

  it('v1 keeps a string or finite number ref, on success and on error', () => {
    for (const ref of [1, 0, -3.5, 'abc', '', 'r'.repeat(128)]) {
      expect(ok({ action: 'subscribe', body: items100, ref })).toEqual({ action: 'subscribe', keys: [{ ok: true, key: items100 }], ref });
      expect(parse({ action: 'dance', ref })).toEqual({
        ok: false,
        error: { code: 'BAD_MESSAGE', message: 'unknown action "dance"', ref },
      });
      expect(parse({ action: 'subscribe', ref })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE', ref } });
      expect(parse({ action: 'secret', body: 'x'.repeat(MAX_SECRET_LENGTH + 1), ref })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_SECRET', ref },
      });
      expect(ok({ hello: 'world', ref })).toEqual({ action: 'passthrough', message: { hello: 'world', ref }, ref });
    }
    expect(ok({ REF: 9, action: 'secret', body: 'x' })).toEqual({ action: 'secret', secret: 'x', ref: 9 });
  });

  it('v1 rejects a ref of the wrong type, without echoing it', () => {
    const message = 'ref must be a string of at most 128 characters or a finite number';
    for (const ref of [{}, [1], true, 'r'.repeat(129)]) {
      expect(parse({ action: 'subscribe', body: items100, ref })).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message } });
      expect(parse({ hello: 'world', ref })).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message } });
    }
    // 1e400 parses as Infinity.
    expect(parseClientMessage('{"action":"subscribe","body":{"entity":"items","id":"1"},"ref":1e400}', 'v1')).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message },
    });
  });

  it('legacy ignores ref like any unknown field (Go has no such field)', () => {
    for (const ref of [1, 'abc', {}, true, 'r'.repeat(129)]) {
      expect(ok({ action: 'subscribe', body: items100, ref }, 'legacy')).toEqual({
        action: 'subscribe',
        keys: [{ ok: true, key: items100 }],
      });
    }
    expect(ok({ hello: 'world', ref: {} }, 'legacy')).toEqual({ action: 'passthrough', message: { hello: 'world', ref: {} } });
  });
});

describe('parseClientMessage: properties', () => {
  const modes = fc.constantFrom<ProtocolMode>('legacy', 'v1');

  it('never throws on random strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.json()), modes, (text, mode) => {
        const result = parseClientMessage(text, mode);
        return typeof result.ok === 'boolean';
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('never throws on random JSON shaped like messages', () => {
    const field = fc.constantFrom('action', 'ACTION', 'body', 'Body', 'ref', 'entity', 'id', 'ID', '__proto__', 'constructor', 'toString');
    const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom('subscribe', 'unsubscribe', 'secret', 'items'));
    const key = fc.dictionary(field, anyValue);
    const message = fc.record(
      {
        action: fc.oneof(anyValue, fc.constantFrom('subscribe', 'unsubscribe', 'secret')),
        body: fc.oneof(anyValue, key, fc.array(key)),
        ref: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(message, modes, (m, mode) => {
        const result = parseClientMessage(JSON.stringify(m), mode);
        if (result.ok && (result.message.action === 'subscribe' || result.message.action === 'unsubscribe')) {
          for (const entry of result.message.keys) {
            if (entry.ok) expect(typeof entry.key.id).toBe('string');
          }
        }
      }),
      { numRuns: 1000 },
    );
  }, 30_000);
});

describe('server frames', () => {
  it('builds ack, error and data frames as JSON', () => {
    expect(JSON.parse(ackFrame(7))).toEqual({ type: 'ack', ref: 7 });
    expect(JSON.parse(ackFrame('a"b'))).toEqual({ type: 'ack', ref: 'a"b' });
    expect(JSON.parse(errorFrame({ code: 'BAD_MESSAGE', message: 'm' }))).toEqual({ type: 'error', code: 'BAD_MESSAGE', message: 'm' });
    expect(JSON.parse(errorFrame({ code: 'FORBIDDEN', message: 'm', ref: 'r', entity: 'items', id: '1' }))).toEqual({
      type: 'error',
      ref: 'r',
      code: 'FORBIDDEN',
      message: 'm',
      entity: 'items',
      id: '1',
    });
    const key = { entity: 'items', id: 'quo"te\n/é' };
    expect(JSON.parse(`${dataFramePrefix(key)}{"a":1}}`)).toEqual({ type: 'data', ...key, data: { a: 1 } });
  });
});
