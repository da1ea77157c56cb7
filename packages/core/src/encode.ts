import { fingerprint } from '@entity-sync/protocol';
import type { PendingDelta } from './delta-cache.js';
import type { ProtocolMode } from './protocol.js';

/**
 * One value produced by a fetch. Its JSON is made once; its frames are built by
 * {@link EncodedBatch}, once per protocol mode however many connections they go to.
 */
export class EncodedValue {
  #json: string | undefined;

  constructor(
    readonly value: unknown,
    private readonly prefix: string,
  ) {}

  /** Exactly the value's JSON, or the exact bytes of a string/Buffer (the Go library's frame). */
  legacyFrame(): string | Uint8Array {
    const v = this.value;
    return typeof v === 'string' || v instanceof Uint8Array ? v : this.json();
  }

  v1Frame(): string {
    return `${this.prefix}${this.json()}}`;
  }

  /** The value as JSON (a string or bytes taken as JSON when they parse). Throws if it cannot be serialized. */
  json(): string {
    this.#json ??= toJson(this.value);
    return this.#json;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function toJson(value: unknown): string {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : decoder.decode(value);
    return isJson(text) ? text : JSON.stringify(text);
  }
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`value of type ${typeof value} is not JSON-serializable`);
  return json;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The values of one fetch for one key, with each protocol mode's frames built once and shared
 * by every connection they go to.
 */
export class EncodedBatch {
  #legacy: Array<string | Uint8Array> | undefined;
  #v1: string[] | undefined;
  #fingerprint: number | undefined;
  /** The delta from the group's previous value, when deltas are on (see `DeltaCache`). */
  delta: PendingDelta | undefined;

  constructor(readonly values: readonly EncodedValue[]) {}

  frames(mode: ProtocolMode): ReadonlyArray<string | Uint8Array> {
    if (mode === 'legacy') return (this.#legacy ??= this.values.map((v) => v.legacyFrame()));
    return (this.#v1 ??= this.values.map((v) => v.v1Frame()));
  }

  /**
   * Identifies the values of this batch (see {@link fingerprint}): a hash of their JSON, in
   * order. The same values give the same number on every node and after restarts.
   */
  get fingerprint(): number {
    this.#fingerprint ??= fingerprint(this.values.map((v) => v.json()));
    return this.#fingerprint;
  }
}

/**
 * Encodes every value of one fetch for a key whose v1 frames start with `prefix` (see
 * `dataFramePrefix`). Throws if a value cannot be serialized.
 */
export function encodeValues(prefix: string, values: readonly unknown[]): EncodedBatch {
  return new EncodedBatch(
    values.map((value) => {
      const encoded = new EncodedValue(value, prefix);
      encoded.json(); // a value that cannot be serialized fails its fetch, not a send
      return encoded;
    }),
  );
}
