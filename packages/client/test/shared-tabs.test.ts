import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type FrameTap, tapClientFrames } from '@entity-sync/testing';
import { build } from 'esbuild';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Store, startServer, type TestServer } from './server.js';

// Debian's Chromium (apt-get install chromium); playwright-core never downloads a browser.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let store: Store;
let server: TestServer;
let tap: FrameTap;
let pages: Server;
let pagesUrl: string;
let browser: Browser;
const pageErrors: string[] = [];

/** Serves the test page (one origin for all tabs), with `createSharedClient` bundled from source. */
async function servePages(): Promise<Server> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('tabs-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    conditions: ['@entity-sync/source'],
    write: false,
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]!.text;
  const http = createServer((req, res) => {
    if (req.url?.startsWith('/tab.js')) res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (req.url?.startsWith('/?'))
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/tab.js"></script>');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return http;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found; apt-get install -y chromium`);
  store = new Store();
  for (const id of ['1', '2', '3']) store.items.set(id, { id, title: `item ${id}` });
  server = await startServer(store);
  tap = tapClientFrames(server.sync);
  pages = await servePages();
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  pages?.closeAllConnections();
  await new Promise((resolve) => pages?.close(resolve));
});

async function openTab(context: BrowserContext, ids: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${pagesUrl}?ws=${encodeURIComponent(server.url)}&ids=${ids.join(',')}`);
  for (const id of ids) await expect.poll(() => title(page, id)).toBe(store.items.get(id)!.title);
  return page;
}

const title = (page: Page, id: string) => page.locator(`li[data-id="${id}"]`).textContent();
const isLeader = (page: Page) => page.evaluate(() => window.tab.isLeader());

async function change(id: string, text: string): Promise<void> {
  store.items.set(id, { id, title: text });
  await server.sync.notifyAllOfChange({ entity: 'items', id });
}

it('five tabs make one socket with one subscribe per key; when the leader tab closes another takes over within 2 s and every tab keeps its data', async () => {
  const context = await browser.newContext();
  // The first tab leads (it asked for the leader lock first); the others hold overlapping keys.
  const leader = await openTab(context, ['1', '3']);
  const followers = [
    await openTab(context, ['1']),
    await openTab(context, ['1', '2']),
    await openTab(context, ['1']),
    await openTab(context, ['1', '2']),
  ];
  expect(await isLeader(leader)).toBe(true);
  for (const page of followers) expect(await isLeader(page)).toBe(false);
  expect(server.sync.stats().connections).toBe(1);
  expect(['1', '2', '3'].map((id) => tap.count('subscribe', `items/${id}`))).toEqual([1, 1, 1]);

  await change('1', 'item 1, edited');
  for (const page of [leader, ...followers]) await expect.poll(() => title(page, '1')).toBe('item 1, edited');

  // The leader tab goes away: the lock passes to a follower, which connects and subscribes the
  // keys the remaining tabs hold (items/3 was only the leader's, so it is not resubscribed).
  tap.reset();
  const closedAt = Date.now();
  await leader.close();
  await expect
    .poll(
      async () =>
        (await Promise.all(followers.map((page) => page.evaluate(() => window.tab.isLeader() && window.tab.state())))).filter(Boolean),
      {
        timeout: 2_000,
        interval: 20,
      },
    )
    .toEqual(['open']);
  console.log(`shared-tabs: a follower took over and was connected ${Date.now() - closedAt} ms after the leader tab closed`);
  await expect.poll(() => server.sync.stats().connections).toBe(1);
  for (const page of followers) expect(await title(page, '1')).toBe('item 1, edited'); // kept through the handover
  await expect.poll(() => tap.count('subscribe', 'items/1')).toBe(1);
  expect(tap.count('subscribe', 'items/2')).toBe(1);
  expect(tap.count('subscribe', 'items/3')).toBe(0);
  for (const page of followers) await expect.poll(() => page.evaluate(() => window.tab.state())).toBe('open');

  await change('1', 'item 1, after the handover');
  await change('2', 'item 2, after the handover');
  for (const page of followers) await expect.poll(() => title(page, '1')).toBe('item 1, after the handover');
  await expect.poll(() => title(followers[1]!, '2')).toBe('item 2, after the handover');
  await expect.poll(() => title(followers[3]!, '2')).toBe('item 2, after the handover');

  // Tabs that close take their keys with it: once only the new leader is left, the wire holds
  // just its keys.
  for (const page of followers) expect(await page.evaluate(() => window.tab.errors)).toEqual([]);
  const next = (await Promise.all(followers.map(isLeader))).indexOf(true);
  for (const page of followers.filter((_, i) => i !== next)) await page.close();
  const nextHolds2 = next === 1 || next === 3;
  await expect.poll(() => server.sync.stats().subscriptions).toBe(nextHolds2 ? 2 : 1);
  expect(tap.count('unsubscribe', 'items/2')).toBe(nextHolds2 ? 0 : 1);
  expect(tap.count('unsubscribe', 'items/1')).toBe(0);
  expect(pageErrors).toEqual([]);
  await context.close();
});

it('notices tabs that vanish without a goodbye (a crashed renderer): the lock passes on, their keys are dropped', async () => {
  const context = await browser.newContext();
  const crash = async (page: Page) => {
    const cdp = await context.newCDPSession(page);
    const crashed = page.waitForEvent('crash');
    void cdp.send('Page.crash').catch(() => {}); // never answers: the session dies with the page
    await crashed;
  };
  const leader = await openTab(context, ['1']);
  const a = await openTab(context, ['1']);
  const b = await openTab(context, ['1', '2']);
  expect(await isLeader(leader)).toBe(true);
  tap.reset();

  await crash(leader);
  await expect.poll(async () => (await isLeader(a)) !== (await isLeader(b))).toBe(true);
  await expect.poll(() => server.sync.stats().connections).toBe(1);
  await expect.poll(() => tap.count('subscribe', 'items/2')).toBe(1);
  await change('1', 'item 1, after the crash');
  for (const page of [a, b]) await expect.poll(() => title(page, '1')).toBe('item 1, after the crash');

  // A crashed follower sends no goodbye either; the leader sees its presence lock released.
  const [survivor, victim] = (await isLeader(a)) ? [a, b] : [b, a];
  const victimHeld2 = victim === b;
  await crash(victim);
  await expect.poll(() => server.sync.stats().subscriptions).toBe(victimHeld2 ? 1 : 2);
  expect(tap.count('unsubscribe', 'items/2')).toBe(victimHeld2 ? 1 : 0);
  expect(await survivor.evaluate(() => window.tab.errors)).toEqual([]);
  await context.close();
});
