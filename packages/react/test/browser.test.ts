import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type AppServer, startAppServer } from './app-server.js';

// Debian's Chromium (apt-get install chromium); playwright-core never downloads a browser.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let server: AppServer;
let browser: Browser;
const pageErrors: string[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found; apt-get install -y chromium`);
  server = await startAppServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async () => {
  for (const page of pages.splice(0)) {
    expect(await page.evaluate(() => window.clientErrors)).toEqual([]);
    await page.close();
  }
  expect(pageErrors.splice(0)).toEqual([]);
  await expect.poll(() => server.sync.stats().connections).toBe(0);
  server.refuse = false;
});

/** Opens the app in a fresh page and waits until both rows show their values. */
async function openApp(): Promise<Page> {
  await expect.poll(() => server.sync.stats().connections).toBe(0);
  server.resetFrames();
  const page = await browser.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(server.url);
  await expect.poll(() => row(page, '1')).toEqual({ status: 'ready', stale: 'false', title: server.items.get('1')!.title });
  await expect.poll(() => row(page, '2')).toEqual({ status: 'ready', stale: 'false', title: server.items.get('2')!.title });
  return page;
}

async function row(page: Page, id: string) {
  const li = page.locator(`li[data-id="${id}"]`);
  if ((await li.count()) === 0) return undefined;
  return { status: await li.getAttribute('data-status'), stale: await li.getAttribute('data-stale'), title: await li.textContent() };
}

const detail = (page: Page) => page.locator('#detail').evaluate((el) => `${el.dataset['id']}|${el.dataset['status']}|${el.textContent}`);

async function change(id: string, title: string): Promise<void> {
  server.items.set(id, { id, title });
  await server.sync.notifyAllOfChange({ entity: 'items', id });
}

it('under StrictMode sends one subscribe per key for all its hooks, and shows server-side changes', async () => {
  const page = await openApp();
  // items/1 is read by a row, the summary and the detail panel; items/2 by a row and the summary.
  expect(await detail(page)).toBe('1|ready|one');
  expect(await page.locator('#summary').textContent()).toBe('ready,ready');
  expect(server.frames('subscribe', '1')).toBe(1);
  expect(server.frames('subscribe', '2')).toBe(1);
  expect(server.frames('unsubscribe', '1') + server.frames('unsubscribe', '2')).toBe(0);
  expect(server.sync.stats().subscriptions).toBe(2);

  await change('2', 'two, edited on the server');
  await expect.poll(() => row(page, '2')).toEqual({ status: 'ready', stale: 'false', title: 'two, edited on the server' });
  await change('2', 'two'); // a write without a notify would be served from the node's value cache
});

it('unsubscribes after the last user unmounts, and moves the subscription on a key change without a flash', async () => {
  const page = await openApp();
  await page.evaluate(() => window.app!.setIds(['1']));
  await expect.poll(() => server.frames('unsubscribe', '2')).toBe(1);
  await expect.poll(() => server.sync.stats().subscriptions).toBe(1);
  expect(server.frames('unsubscribe', '1')).toBe(0); // its row and the detail panel still read it

  await page.evaluate(() => window.app!.setIds([]));
  await expect.poll(() => page.locator('#summary').textContent()).toBe('');
  expect(server.frames('unsubscribe', '1')).toBe(0); // the detail panel still reads it

  await page.evaluate(() => window.app!.setDetail('3'));
  await expect.poll(() => detail(page)).toBe('3|ready|three');
  await expect.poll(() => server.frames('unsubscribe', '1')).toBe(1);
  expect(server.frames('subscribe', '3')).toBe(1);
  expect(server.sync.stats().subscriptions).toBe(1);
  // Once the panel had shown a title, every commit showed one: item 1's until item 3's arrived.
  const log = await page.evaluate(() => window.detailLog);
  const shown = log.slice(log.indexOf('1|ready|one'));
  expect(shown.filter((entry) => entry.endsWith('|'))).toEqual([]);
  expect(shown).toContain('3|loading|one');
  expect(shown.at(-1)).toBe('3|ready|three');
});

it('marks values reconnecting while the connection is down, then ready with fresh values', async () => {
  const page = await openApp();
  server.refuse = true;
  server.dropConnections();
  await expect.poll(() => row(page, '1')).toEqual({ status: 'reconnecting', stale: 'true', title: 'one' });
  await expect.poll(() => page.locator('main').getAttribute('data-connection')).toBe('reconnecting');
  expect(await row(page, '2')).toEqual({ status: 'reconnecting', stale: 'true', title: 'two' });

  await change('1', 'one, changed while the page was offline'); // the node still sees it: the key lingers
  server.resetFrames();
  server.refuse = false;
  await expect.poll(() => row(page, '1')).toEqual({ status: 'ready', stale: 'false', title: 'one, changed while the page was offline' });
  await expect.poll(() => row(page, '2')).toEqual({ status: 'ready', stale: 'false', title: 'two' });
  expect(await page.locator('main').getAttribute('data-connection')).toBe('open');
  expect(server.frames('subscribe', '1')).toBe(1);
  expect(server.frames('subscribe', '2')).toBe(1);
  await change('1', 'one');
});
