import { describe, expect, it } from 'vitest';
import { textFrame } from './text-frame.js';

/** Reads one unmasked frame: FIN + opcode, payload length (7-bit or 16-bit), payload. */
function parse(frame: Buffer): { first: number; masked: boolean; payload: string } {
  let length = frame[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  }
  expect(frame.length).toBe(offset + length);
  return { first: frame[0]!, masked: (frame[1]! & 0x80) !== 0, payload: frame.subarray(offset).toString('utf8') };
}

describe('textFrame', () => {
  it('is a final, unmasked text frame of the UTF-8 payload', () => {
    const frame = parse(textFrame('{"type":"data","id":"é€"}'));
    expect(frame).toEqual({ first: 0x81, masked: false, payload: '{"type":"data","id":"é€"}' });
  });

  it('uses the 16-bit length past 125 bytes', () => {
    const text = 'x'.repeat(300);
    expect(textFrame(text).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 1, 44]));
    expect(parse(textFrame(text)).payload).toBe(text);
  });

  it('builds a frame once for a run of sends of the same text, again for another text', () => {
    const a = textFrame('{"a":1}');
    expect(textFrame('{"a":1}')).toBe(a);
    const b = textFrame('{"b":2}');
    expect(b).not.toBe(a);
    expect(parse(b).payload).toBe('{"b":2}');
    expect(parse(a).payload).toBe('{"a":1}'); // the earlier frame is left intact
  });
});
