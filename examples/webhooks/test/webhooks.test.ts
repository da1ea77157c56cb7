import { createEntitySync } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { followChanges } from '../src/follow.js';
import { ITEMS_TAG, startWebhookNode } from '../src/node.js';
import { backoffMs, resolveRelayOptions } from '../src/relay-options.js';
import { WebhookRelay } from '../src/webhook-relay.js';
import { type Behaviour, Receiver } from './receiver.js';

const leftovers: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const item of leftovers.splice(0).reverse()) await item.close();
});

async function receiver(behaviour: Behaviour): Promise<Receiver> {
  const started = await Receiver.start(behaviour);
  leftovers.push(started);
  return started;
}

const fast = { baseDelayMs: 5, maxDelayMs: 50, jitter: false };

describe('examples/webhooks', () => {
  it('relays the snapshot and every change of a followed key and tag, retrying a receiver that fails the first attempts', async () => {
    // The first attempt gets a 503, the second a cut connection; then the receiver works.
    const hook = await receiver((n) => (n === 0 ? 503 : n === 1 ? 'drop' : 200));
    const node = await startWebhookNode({ relay: { url: hook.url, ...fast } });
    leftovers.push(node);
    await expect.poll(() => node.relay.stats().delivered).toBe(1);
    const snapshot = hook.received.slice(0, 3);
    expect(snapshot.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(new Set(snapshot.map((r) => r.id)).size).toBe(1); // one event, three attempts
    expect(snapshot[2]!.body).toEqual({
      id: snapshot[0]!.id,
      type: 'snapshot',
      key: { entity: 'items', id: '1' },
      value: { id: '1', title: 'first' },
    });

    const edit = await fetch(`${node.url}api/items/1`, { method: 'POST', body: JSON.stringify({ title: 'second' }) });
    expect(edit.status).toBe(204);
    await expect.poll(() => node.relay.stats().delivered).toBe(3);
    const bodies = hook.received.slice(3).map((r) => ({ ...r.body, id: undefined }));
    expect(bodies).toEqual(
      expect.arrayContaining([
        { id: undefined, type: 'change', key: { entity: 'items', id: '1' }, value: { id: '1', title: 'second' } },
        { id: undefined, type: 'tag', tag: ITEMS_TAG.tag },
      ]),
    );
    expect(node.relay.stats()).toEqual({ delivered: 3, failed: 0, dropped: 0, retries: 2, queued: 0 });
  });

  it('keeps at most maxQueue events waiting, dropping the oldest and counting them', async () => {
    const hook = await receiver(() => 'hold');
    const dropped: unknown[] = [];
    const relay = new WebhookRelay({ url: hook.url, maxQueue: 3, ...fast }, (event, outcome) => {
      if (outcome === 'dropped') dropped.push(event['n']);
    });
    leftovers.push(relay);
    for (let n = 0; n < 10; n++) relay.enqueue({ n }); // 0 goes out at once and hangs; 1..9 queue up
    expect(relay.stats()).toMatchObject({ queued: 3, dropped: 6, delivered: 0 });
    expect(dropped).toEqual([1, 2, 3, 4, 5, 6]);

    await expect.poll(() => hook.received.length).toBe(1);
    hook.release(); // from now on each request is held until released again: release as they come
    for (let delivered = 1; delivered <= 4; delivered++) {
      await expect.poll(() => relay.stats().delivered).toBe(delivered);
      await expect.poll(() => hook.received.length).toBe(Math.min(delivered + 1, 4));
      hook.release();
    }
    expect(hook.received.map((r) => r.body['n'])).toEqual([0, 7, 8, 9]); // the newest survive
    expect(relay.stats()).toEqual({ delivered: 4, failed: 0, dropped: 6, retries: 0, queued: 0 });
  });

  it('gives up after maxAttempts, and at once on a 4xx that retrying cannot fix', async () => {
    const hook = await receiver((n) => (n < 3 ? 500 : 400));
    const failures: string[] = [];
    const relay = new WebhookRelay({ url: hook.url, maxAttempts: 3, ...fast }, (_event, outcome, detail) => {
      if (outcome === 'failed') failures.push(detail);
    });
    leftovers.push(relay);
    relay.enqueue({ n: 1 });
    relay.enqueue({ n: 2 });
    await expect.poll(() => relay.stats().failed).toBe(2);
    expect(hook.received.map((r) => [r.body['n'], r.attempt])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
    ]);
    expect(failures).toEqual(['HTTP 500', 'HTTP 400']);
    expect(relay.stats()).toMatchObject({ delivered: 0, failed: 2, retries: 2 });
  });

  it('close() stops a relay waiting for a retry and reports what was left', async () => {
    const hook = await receiver(() => 503);
    const relay = new WebhookRelay({ url: hook.url, baseDelayMs: 60_000, jitter: false });
    relay.enqueue({ n: 1 });
    relay.enqueue({ n: 2 });
    await expect.poll(() => hook.received.length).toBe(1);
    expect(await relay.close()).toBe(1);
    expect(relay.stats()).toMatchObject({ delivered: 0, failed: 0, queued: 0 });
  });

  it('followChanges rejects as sync.subscribe does and undoes what it followed', async () => {
    const sync = createEntitySync();
    leftovers.push(sync);
    sync.registerEntity('items', { fetch: () => null });
    const relay = new WebhookRelay({ url: 'http://127.0.0.1:9/unused' });
    leftovers.push(relay);
    await expect(
      followChanges(sync, relay, [
        { entity: 'items', id: '1' },
        { entity: 'nope', id: '1' },
      ]),
    ).rejects.toMatchObject({
      code: 'UNKNOWN_ENTITY',
    });
    expect(sync.stats().subscriptions).toBe(0);
  });

  it('refuses bad options with a message naming the option', () => {
    const bad: Array<[object, RegExp]> = [
      [{ url: 'not a url' }, /`url` to be an http\(s\) URL, got "not a url"/],
      [{ url: 'ftp://x/' }, /`url` to be an http\(s\) URL/],
      [{ url: 'http://x/', maxQueue: 0 }, /`maxQueue` to be an integer >= 1, got 0/],
      [{ url: 'http://x/', maxAttempts: 1.5 }, /`maxAttempts` to be an integer >= 1, got 1.5/],
      [{ url: 'http://x/', baseDelayMs: -1 }, /`baseDelayMs` to be an integer >= 0, got -1/],
      [{ url: 'http://x/', timeoutMs: '5' }, /`timeoutMs` to be an integer >= 0, got "5"/],
      [{ url: 'http://x/', jitter: 1 }, /`jitter` to be a boolean/],
    ];
    for (const [options, message] of bad) expect(() => new WebhookRelay(options as never)).toThrow(message);
  });

  it('backs off exponentially up to maxDelayMs, with jitter between half and all of the delay', () => {
    const options = resolveRelayOptions({ url: 'http://x/', baseDelayMs: 100, maxDelayMs: 1000, jitter: false });
    expect([2, 3, 4, 5, 6, 7].map((attempt) => backoffMs(options, attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const jittered = { ...options, jitter: true };
    expect([0, 0.5, 1].map((r) => backoffMs(jittered, 4, () => r))).toEqual([200, 300, 400]);
  });
});
