import { describe, expect, it } from 'vitest';
import { mediaTypeProblem } from './read-body.js';

describe('mediaTypeProblem', () => {
  it('accepts application/json in any case, with a UTF-8 charset or none', () => {
    for (const type of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      expect(mediaTypeProblem(type)).toBeUndefined();
    }
  });

  it('refuses other types and charsets with 415, naming what it got', () => {
    for (const type of [undefined, '', 'text/plain', 'application/jsonx', 'application/json; charset=latin1', 'multipart/form-data']) {
      expect(mediaTypeProblem(type)).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    }
    expect(mediaTypeProblem(undefined)?.body).toMatchObject({ error: { message: expect.stringContaining('got no Content-Type') } });
  });
});
