/**
 * A 53-bit hash of a list of strings: two 32-bit multiply-xorshift lanes, folded together at
 * the end. Used to tell whether a value changed without keeping the value: the chance that two
 * different values collide is about 2^-53 per comparison.
 */
export function fingerprint(parts: readonly string[]): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      a = Math.imul(a ^ c, 0x9e3779b1);
      b = Math.imul(b ^ c, 0x5f356495);
    }
    // The length ends each part, so ['ab', 'c'] and ['a', 'bc'] differ.
    a = Math.imul(a ^ part.length, 0x9e3779b1);
    b = Math.imul(b ^ part.length, 0x5f356495);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return 0x100000000 * (b & 0x1fffff) + (a >>> 0);
}

/**
 * The fingerprint of one value as a client holds it: of its JSON (`JSON.stringify` of the parsed
 * value). The server computes the same number over the JSON it sent, so a client resuming with
 * it gets no body when the value did not change (see the `fp` of a subscribe key).
 */
export function valueFingerprint(value: unknown): number {
  return fingerprint([JSON.stringify(value) ?? 'null']);
}
