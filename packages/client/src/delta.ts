import { applyDelta, type DeltaOp, valueFingerprint } from '@entity-sync/protocol';
import { wireKey } from './key.js';
import type { Subscription } from './subscriptions.js';

/** A `delta` frame as read off the wire (unchecked). */
export interface DeltaFrame {
  fp?: unknown;
  ops?: unknown;
}

/**
 * Applies a `delta` frame to the value `sub` holds and hands the result to its watchers. Returns
 * false, delivering nothing, when the result is not the value the server fingerprinted (`fp`):
 * the client held no value, or another one than the delta's base.
 */
export function patch(sub: Subscription, frame: DeltaFrame, onThrow: (error: unknown) => void): boolean {
  let value: unknown;
  try {
    value = applyDelta(sub.last!.value, frame.ops as DeltaOp[]);
  } catch {
    return false; // no value held, or ops that are not a delta
  }
  if (valueFingerprint(value) !== frame.fp) return false;
  sub.deliver(value, sub.ref !== undefined, onThrow);
  return true;
}

/**
 * The key of the subscribe that asks again for the whole value after a delta that did not
 * apply: with the fingerprint of what the client really holds, so the server sends the value.
 */
export function refetchKey(sub: Subscription): object {
  return { ...wireKey(sub.key), fp: valueFingerprint(sub.last?.value) };
}
