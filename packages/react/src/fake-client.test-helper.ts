import type { ClientError, ConnectionState, EntityKey } from '@entity-sync/client';
import type { StoreClient } from './store.js';

interface FakeSubscription {
  key: EntityKey;
  listener: (value: unknown) => void;
  onError: (error: ClientError) => void;
  active: boolean;
}

/** A client for unit tests: records subscribe/stop calls; the test delivers values, errors and states. */
export class FakeClient implements StoreClient {
  state: ConnectionState = 'open';
  /** Every `subscribe` and stop, in order: `+items/1`, `-items/1`. */
  readonly log: string[] = [];
  private readonly subs: FakeSubscription[] = [];
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();

  subscribe(key: EntityKey, listener: (value: unknown) => void, onError: (error: ClientError) => void): () => void {
    const sub = { key, listener, onError, active: true };
    this.subs.push(sub);
    this.log.push(`+${key.entity}/${key.id}`);
    return () => {
      if (!sub.active) return;
      sub.active = false;
      this.log.push(`-${key.entity}/${key.id}`);
    };
  }

  on(_event: 'state', listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => void this.stateListeners.delete(listener);
  }

  /** The keys of the active subscriptions, as the client was given them. */
  subscribed(): EntityKey[] {
    return this.subs.filter((s) => s.active).map((s) => s.key);
  }

  /** Keys with an active subscription. */
  active(): string[] {
    return this.subs.filter((s) => s.active).map((s) => `${s.key.entity}/${s.key.id}`);
  }

  deliver(k: string, value: unknown): void {
    for (const sub of this.matching(k)) sub.listener(value);
  }

  fail(k: string, error: ClientError): void {
    for (const sub of this.matching(k)) sub.onError(error);
  }

  setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of [...this.stateListeners]) listener(state);
  }

  private matching(k: string): FakeSubscription[] {
    const found = this.subs.filter((s) => s.active && `${s.key.entity}/${s.key.id}` === k);
    if (found.length === 0) throw new Error(`no active subscription for ${k}`);
    return found;
  }
}
