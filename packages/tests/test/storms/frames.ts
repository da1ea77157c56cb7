import type { TestClient } from '@entity-sync/testing';

/** A key as the wire names it. */
export interface WireKey {
  entity: string;
  id: string;
}

/** The `data` frames `client` received for `key` so far (all keys when none is given). */
export function dataFrames(client: TestClient, key?: WireKey): any[] {
  return (client.messages as any[]).filter((f) => f.type === 'data' && (key === undefined || (f.entity === key.entity && f.id === key.id)));
}

/** The error frames with `code` that `client` received so far. */
export function errorFrames(client: TestClient, code: string): any[] {
  return (client.messages as any[]).filter((f) => f.type === 'error' && f.code === code);
}

let barriers = 0;

/**
 * Waits until the server handled everything `client` sent before, and wrote what that caused:
 * an unsubscribe of a key it never held is acked after the frames sent before it.
 */
export async function barrier(client: TestClient): Promise<void> {
  const ref = `barrier-${++barriers}`;
  const reply = await client.request({ action: 'unsubscribe', body: { entity: 'none', id: 'none' } }, ref);
  if (reply.type !== 'ack') throw new Error(`barrier failed: ${JSON.stringify(reply)}`);
}

/** Resolves after `ms`: only to let a lifetime pass, never to wait for something to happen. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
