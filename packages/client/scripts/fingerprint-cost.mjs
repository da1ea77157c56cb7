// What resume by fingerprint costs the client (run `pnpm build` first): the time to fingerprint
// a held value (JSON.stringify + valueFingerprint, what the client does per key when it
// subscribes again), against the time to JSON.parse the same value (what receiving it costs).
// The client fingerprints lazily, at resubscribe time, so a value that is replaced before the
// next reconnect is never fingerprinted.
import { valueFingerprint } from '@entity-sync/protocol';

const KEYS = 1_000;
const ROUNDS = 5;

/** A JSON object of about `bytes` bytes. */
function sampleValue(bytes) {
  const value = { id: 'x', items: [] };
  while (JSON.stringify(value).length < bytes) value.items.push({ k: Math.random().toString(36).slice(2), n: Math.random(), ok: true });
  return value;
}

function microsPerValue(run) {
  const start = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) run();
  return Number(process.hrtime.bigint() - start) / 1_000 / ROUNDS / KEYS;
}

for (const bytes of [100, 1_000, 10_000]) {
  const values = Array.from({ length: KEYS }, () => sampleValue(bytes));
  const texts = values.map((value) => JSON.stringify(value));
  for (const value of values) valueFingerprint(value); // warm up
  const fingerprint = microsPerValue(() => {
    for (const value of values) valueFingerprint(value);
  });
  const parse = microsPerValue(() => {
    for (const text of texts) JSON.parse(text);
  });
  console.log(
    `${bytes} B values: fingerprint ${fingerprint.toFixed(1)} µs per value (${((fingerprint * KEYS) / 1_000).toFixed(1)} ms for ${KEYS} keys at a reconnect), JSON.parse ${parse.toFixed(1)} µs per value`,
  );
}
