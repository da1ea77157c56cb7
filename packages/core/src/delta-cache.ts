import { diffJsonText } from '@entity-sync/protocol';
import type { EncodedBatch } from './encode.js';

/** The `deltas` option, resolved: when a delta frame replaces a `data` frame. */
export interface DeltaRule {
  /** Values whose JSON is shorter (in characters) always go whole. */
  readonly minBytes: number;
  /** A delta frame is sent only when at most this fraction of the `data` frame's length. */
  readonly maxRatio: number;
}

/** Counters for `stats()`. */
export interface DeltaCounters {
  deltasComputed: number;
  deltaFramesSent: number;
}

/** A value a delta may start from or lead to: its fingerprint and its JSON. */
export interface DeltaValue {
  readonly fp: number;
  readonly json: string;
}

/**
 * The delta from a (key, group)'s previous value to the value of its latest fetch. It is built
 * at most once, when the first subscriber holding the previous value needs it, and shared by
 * every subscriber holding it; `null` once built when it was not worth sending.
 */
export class PendingDelta {
  #frame: string | null | undefined;

  constructor(
    readonly from: DeltaValue,
    readonly to: DeltaValue,
    /** `,"entity":…,"id":…,` of the key, from its `data` frames. */
    private readonly keyFields: string,
    /** The length of the `data` frame the delta would replace. */
    private readonly fullLength: number,
    private readonly rule: DeltaRule,
    private readonly counters: DeltaCounters,
  ) {}

  /** The delta frame for a subscriber whose client holds the value fingerprinted `held`, if any. */
  frameFor(held: number | undefined): string | undefined {
    if (held !== this.from.fp) return undefined;
    if (this.#frame === undefined) this.#frame = this.#build();
    return this.#frame ?? undefined;
  }

  #build(): string | null {
    this.counters.deltasComputed++;
    const ops = JSON.stringify(diffJsonText(this.from.json, this.to.json));
    const frame = `{"type":"delta"${this.keyFields}"base":${this.from.fp},"fp":${this.to.fp},"ops":${ops}}`;
    return frame.length <= this.fullLength * this.rule.maxRatio ? frame : null;
  }
}

const DATA_HEAD = '{"type":"data"';
const DATA_TAIL = '"data":';

/**
 * The last value delivered to each (key, group), the base of the next fetch's delta. Entries
 * are keyed by the group's set of subscriptions (weakly), so a group that empties takes its
 * value with it: memory is one value's JSON per (key, group) with subscribers (a string the
 * fetch's frames already hold), kept only while deltas are on.
 */
export class DeltaCache {
  readonly #last = new WeakMap<object, DeltaValue>();

  constructor(
    private readonly rule: DeltaRule,
    private readonly counters: DeltaCounters,
  ) {}

  /**
   * `batch` is the latest fetch of the group `members` (of a key whose `data` frames start with
   * `dataPrefix`): gives it the delta from the group's previous value, when one may be sent, and
   * keeps it as the next base. Only single values given as objects (not as JSON text or bytes,
   * whose JSON a client could not reproduce) of at least `minBytes` take part.
   */
  link(members: object, batch: EncodedBatch, dataPrefix: string): void {
    const only = batch.values.length === 1 ? batch.values[0]! : undefined;
    const json = only === undefined || typeof only.value === 'string' || only.value instanceof Uint8Array ? '' : only.json();
    if (json.length < this.rule.minBytes) {
      this.#last.delete(members);
      return;
    }
    const previous = this.#last.get(members);
    const fp = batch.fingerprint;
    if (previous?.fp === fp) return; // the same value again: subscribers skip it
    const next: DeltaValue = { fp, json };
    this.#last.set(members, next);
    if (previous === undefined) return;
    const keyFields = dataPrefix.slice(DATA_HEAD.length, -DATA_TAIL.length);
    const fullLength = dataPrefix.length + json.length + 1;
    batch.delta = new PendingDelta(previous, next, keyFields, fullLength, this.rule, this.counters);
  }
}
