import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Demo, startDemo } from '../src/server.js';

// Debian's Chromium (apt-get install chromium); playwright-core never downloads a browser.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let demo: Demo | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found; apt-get install -y chromium`);
  demo = await startDemo({ port: 0 });
  profile = mkdtempSync(join(tmpdir(), 'entity-sync-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
});

afterAll(async () => {
  await context?.close();
  await demo?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openPage(url: string): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  return page;
}

const title = (page: Page, id: string) => page.locator(`li[data-id="${id}"] .title`).textContent();
const status = (page: Page) => page.locator('#status').getAttribute('data-state');

it('updates every open page live, and reconnects them to fresh state after a server restart', async () => {
  const { url, port } = demo!;
  const pages = [await openPage(url), await openPage(url)];
  const [a, b] = pages as [Page, Page];
  for (const page of pages) {
    await expect.poll(() => status(page)).toBe('open');
    await expect.poll(() => title(page, '2')).toBe('Ship the client');
  }

  // An edit in page A reaches page B within 2 s.
  await a.locator('li[data-id="2"] .edit').fill('Edited in page A');
  await a.locator('li[data-id="2"] .save').click();
  await expect.poll(() => title(b, '2'), { timeout: 2_000, interval: 20 }).toBe('Edited in page A');
  await expect.poll(() => title(a, '2')).toBe('Edited in page A');

  // Restart the server on the same port with different data: the pages must drop the old
  // connection, reconnect, and show the new server's state (a fresh snapshot, not a stale cache).
  await demo!.close();
  demo = undefined;
  for (const page of pages) await expect.poll(() => status(page)).not.toBe('open');
  demo = await startDemo({
    port,
    items: [
      { id: '1', title: 'Write the protocol page', done: true },
      { id: '2', title: 'Fresh after restart', done: true },
      { id: '3', title: 'Run the demo in two tabs', done: false },
    ],
  });
  for (const page of pages) {
    await expect.poll(() => status(page), { timeout: 15_000 }).toBe('open');
    await expect.poll(() => title(page, '2'), { timeout: 15_000 }).toBe('Fresh after restart');
    await expect.poll(() => page.locator('li[data-id="2"] .done').isChecked()).toBe(true);
  }

  // And live updates flow again on the new server, the other way round.
  await b.locator('li[data-id="3"] .edit').fill('Edited in page B after restart');
  await b.locator('li[data-id="3"] .save').click();
  await expect.poll(() => title(a, '3'), { timeout: 2_000, interval: 20 }).toBe('Edited in page B after restart');

  const screenshot = join(tmpdir(), `entity-sync-demo-${Date.now()}.png`);
  await a.screenshot({ path: screenshot, fullPage: true });
  console.log(`browser test screenshot: ${screenshot}`);
  expect(pageErrors).toEqual([]);
});
