import { randomUUID } from 'node:crypto';
import { tapClientFrames } from '@entity-sync/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type ClientError, createSharedClient, type SharedClient } from '../src/shared.js';
import { type Item, Store, startServer, type TestServer } from './server.js';

// Node 20 has BroadcastChannel (shared by every instance of one name in the process) and no
// Web Locks, so these "tabs" elect their leader with the heartbeat fallback. The Web Locks
// election runs in Chromium: test/shared-tabs.browser.test.ts.

type Entities = { items: Item & { seenAs: string }; secrets: { id: string; text: string } };

/** Waits for an expectation; generous, since a machine under load is slow, not wrong. */
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 20 });

const leftovers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

async function setup() {
  const store = new Store();
  store.items.set('1', { id: '1', title: 'first' });
  store.items.set('2', { id: '2', title: 'second' });
  const server = await startServer(store);
  const tap = tapClientFrames(server.sync);
  leftovers.push(() => server.stop());
  const name = `test-${randomUUID()}`;
  const errors: ClientError[] = [];
  const openTab = (secret?: string): SharedClient<Entities> => {
    const tab = createSharedClient<Entities>({
      url: server.url,
      WebSocket,
      name,
      locks: false,
      retry: { minDelayMs: 20, maxDelayMs: 200 },
      ...(secret === undefined ? {} : { secret }),
    });
    tab.on('error', (error) => errors.push(error));
    leftovers.push(() => tab.close());
    return tab;
  };
  leftovers.push(async () => expect(errors, 'unexpected client errors').toEqual([]));
  return { store, server, tap, openTab };
}

/** The latest value a tab shows for a key, as a page would render it. */
function show(tab: SharedClient<Entities>, id: string) {
  const seen: { value: (Entities['items'] | null) | undefined } = { value: undefined };
  const stop = tab.subscribe({ entity: 'items', id }, (value) => (seen.value = value));
  return { seen, stop };
}

async function change(server: TestServer, store: Store, id: string, title: string) {
  store.items.set(id, { id, title });
  await server.sync.notifyAllOfChange({ entity: 'items', id });
}

const leaders = (tabs: SharedClient<Entities>[]) => tabs.filter((tab) => tab.isLeader).length;

describe('createSharedClient (heartbeat election, Node)', () => {
  it('lets three tabs share one connection and one wire subscription per key', async () => {
    const { store, server, tap, openTab } = await setup();
    const tabs = [openTab(), openTab(), openTab()];
    const views = tabs.map((tab) => show(tab, '1'));
    const two = show(tabs[2]!, '2');
    for (const view of views) await until(() => expect(view.seen.value).toMatchObject({ title: 'first' }));
    await until(() => expect(two.seen.value).toMatchObject({ title: 'second' }));
    expect(leaders(tabs)).toBe(1);
    expect(server.sync.stats().connections).toBe(1);
    expect(tap.count('subscribe', 'items/1')).toBe(1);
    expect(tap.count('subscribe', 'items/2')).toBe(1);
    for (const tab of tabs) expect(tab.state).toBe('open');

    await change(server, store, '1', 'edited');
    for (const view of views) await until(() => expect(view.seen.value).toMatchObject({ title: 'edited' }));

    // A key unsubscribes on the wire only when no tab holds it any more.
    views[0]!.stop();
    views[1]!.stop();
    two.stop();
    await until(() => expect(tap.count('unsubscribe', 'items/2')).toBe(1));
    expect(tap.count('unsubscribe', 'items/1')).toBe(0);
    views[2]!.stop();
    await until(() => expect(tap.count('unsubscribe', 'items/1')).toBe(1));
  });

  it('moves the connection to another tab when the leader closes; every tab keeps its data and gets later updates', async () => {
    const { store, server, tap, openTab } = await setup();
    const tabs = [openTab(), openTab(), openTab()];
    const views = tabs.map((tab) => show(tab, '1'));
    for (const view of views) await until(() => expect(view.seen.value).toMatchObject({ title: 'first' }));
    const leader = tabs.find((tab) => tab.isLeader)!;
    show(leader, '2'); // held by the leader only: must be gone once it is
    await until(() => expect(tap.count('subscribe', 'items/2')).toBe(1));
    const rest = tabs.filter((tab) => tab !== leader);
    const states: string[] = [];
    rest[0]!.on('state', (state) => states.push(state));
    tap.reset();

    await leader.close();
    await until(() => expect(leaders(rest)).toBe(1));
    await until(() => expect(server.sync.stats().connections).toBe(1));
    await until(() => expect(rest.map((tab) => tab.state)).toEqual(['open', 'open']));
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('open');
    expect(tap.count('subscribe', 'items/1')).toBe(1);
    expect(tap.count('subscribe', 'items/2')).toBe(0);
    for (const tab of rest) expect(views[tabs.indexOf(tab)]!.seen.value).toMatchObject({ title: 'first' });

    await change(server, store, '1', 'after the handover');
    for (const tab of rest) await until(() => expect(views[tabs.indexOf(tab)]!.seen.value).toMatchObject({ title: 'after the handover' }));
  });

  it('shares the secret: setSecret in one tab changes who every tab is', async () => {
    const { openTab } = await setup();
    const a = openTab('alice');
    const b = openTab('alice');
    const inA = show(a, '1');
    const inB = show(b, '1');
    await until(() => expect(inB.seen.value).toMatchObject({ seenAs: 'alice' }));
    a.setSecret('bob');
    await until(() => expect(inB.seen.value).toMatchObject({ seenAs: 'bob' }));
    await until(() => expect(inA.seen.value).toMatchObject({ seenAs: 'bob' }));
  });

  it('secret expiry: every tab hears secretExpired, the leader asks its secret function, and data flows again', async () => {
    const store = new Store();
    store.items.set('1', { id: '1', title: 'first' });
    // The upgrade authenticates as `alice` for a short while; the secret function refreshes it.
    const server = await startServer(store, 0, { authenticate: () => ({ secret: 'alice', expiresAt: Date.now() + 1_500 }) });
    leftovers.push(() => server.stop());
    const name = `test-${randomUUID()}`;
    let calls = 0;
    const open = () => {
      const tab = createSharedClient<Entities>({
        url: server.url,
        WebSocket,
        name,
        locks: false,
        retry: { minDelayMs: 20, maxDelayMs: 200 },
        secret: () => (calls++ === 0 ? null : 'bob'), // first call (the leader's client): no secret message
      });
      leftovers.push(() => tab.close());
      return tab;
    };
    const first = open();
    await until(() => expect(first.isLeader).toBe(true)); // one leader, so one client calls the function
    const tabs = [first, open()];
    const heard = [0, 0];
    for (const [i, tab] of tabs.entries()) tab.on('secretExpired', () => heard[i]!++);
    const views = tabs.map((tab) => show(tab, '1'));
    await until(() => {
      for (const view of views) expect(view.seen.value).toMatchObject({ seenAs: 'bob' });
    });
    expect(heard).toEqual([1, 1]);
    expect(calls).toBe(2);
  });

  it('hands a per-key error to every tab holding the key, and a late tab gets the last value at once', async () => {
    const { openTab } = await setup();
    const a = openTab();
    const b = openTab();
    const failures: ClientError[][] = [[], []];
    for (const [i, tab] of [a, b].entries()) {
      tab.subscribe(
        { entity: 'secrets', id: 'x' },
        () => {},
        (error) => failures[i]!.push(error),
      );
    }
    await until(() => expect(failures.map((f) => f.map((e) => e.code))).toEqual([['FORBIDDEN'], ['FORBIDDEN']]));

    const first = show(a, '2');
    await until(() => expect(first.seen.value).toMatchObject({ title: 'second' }));
    const late = openTab();
    const lateView = show(late, '2');
    await until(() => expect(lateView.seen.value).toMatchObject({ title: 'second' }));
  });
});
