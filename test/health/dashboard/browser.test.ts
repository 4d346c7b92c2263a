// The dashboard in a real browser (Debian's chromium, driven by playwright-core; one launch for the
// file): a real clusterd with a real HTTP app of 2 workers under real load. The page loads with no
// console error and asks nothing of any server but clusterd's; its charts fill from the live samples;
// a `clusterd reload` shows in the timeline; the log pane follows the app; signed in with a token, its
// Reload button reloads the app. UPDATE_SCREENSHOTS=1 saves docs/images/dashboard.png.
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { dashboardAddress } from '../../helpers/dashboard.js';
import { REPO_ROOT, tempDir } from '../../helpers/files.js';
import { get } from '../../helpers/http.js';
import { startLoad } from '../../helpers/load.js';
import { fixtureApp, startRoot } from '../../helpers/root.js';

const CHROMIUM = '/usr/bin/chromium';
/** Headless, and nothing of the browser's own on the network (this machine's network is closed). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOKEN = 'browser-test-token-0c4e8a2d9f61';

let browser: BrowserContext;

beforeAll(async () => {
  browser = await chromium.launchPersistentContext(tempDir(), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
});

afterAll(async () => {
  await browser?.close();
});

/** A new page that records every request it makes and every console error and page fault. */
async function watchedPage(): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, requests, errors };
}

/** A chart's test hook: data-last (its app series' newest value) or data-points. */
const chart = async (page: Page, name: string, what: 'last' | 'points') =>
  Number((await page.getAttribute(`figure[data-chart="${name}"]`, `data-${what}`)) || 0);

describe('dashboard in a browser', () => {
  it('shows live figures, the reload in its timeline and the logs, from clusterd alone', async () => {
    const root = startRoot({
      health: { port: 0, dashboard: true },
      apps: [fixtureApp('web', 'http-server.cjs', { instances: 2, env: { PORT: 0 } })],
    });
    const address = await dashboardAddress(root);
    await root.running('web');
    const app = await root.address('web');
    const { page, requests, errors } = await watchedPage();
    await page.goto(`http://${address}/dashboard/`);
    // (The page's CSP forbids eval: waits are on selectors and attributes, never on evaluated strings.)
    await page.locator('body[data-samples]:not([data-samples="0"])').waitFor({ state: 'attached' });
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(await page.locator('tr[data-worker]').count()).toBe(2);

    const load = startLoad(app, { connections: 4, rate: 300, maxSeconds: 30 });
    try {
      await expect.poll(() => chart(page, 'rate', 'last'), { timeout: 15_000 }).toBeGreaterThan(0);
      expect(await chart(page, 'rate', 'last')).toBeGreaterThan(0);
      expect(await chart(page, 'rate', 'points')).toBeGreaterThan(0);
      expect(await chart(page, 'memory', 'last')).toBeGreaterThan(10);
      expect(await chart(page, 'cpu', 'points')).toBeGreaterThan(0);
      // Each chart drew its canvas.
      expect(await page.locator('figure[data-chart] canvas').count()).toBe(6);

      const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env });
      expect(reload.code).toBe(0);
      await page.locator('#timeline li[data-msg^="reloaded:"]').first().waitFor();
      await page.locator('#timeline li[data-msg="reload started"]').first().waitFor();

      await page.selectOption('#log-app', 'web');
      await page.locator('#logs[data-lines]').waitFor({ state: 'attached' });
      await get(app, '/slow?ms=1');
      await page.locator('#logs', { hasText: 'slow request started' }).waitFor();

      if (process.env.UPDATE_SCREENSHOTS === '1') {
        // A few more seconds of load, so the charts show a span.
        await expect
          .poll(() => chart(page, 'rate', 'points'), { timeout: 20_000 })
          .toBeGreaterThanOrEqual(12);
        await page.screenshot({ path: join(REPO_ROOT, 'docs/images/dashboard.png'), fullPage: true });
      }
    } finally {
      await load.stop();
    }
    await page.close();

    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(5);
    expect([...new Set(requests.map((u) => new URL(u).origin))]).toEqual([`http://${address}`]);
  });

  it('signs in with the token and reloads the app from its button', async () => {
    const root = startRoot(
      {
        health: { port: 0, dashboard: { actions: true, token: { env: 'DASH_TOKEN' } } },
        apps: [fixtureApp('web', 'http-server.cjs', { instances: 2, env: { PORT: 0 } })],
      },
      { env: { DASH_TOKEN: TOKEN } },
    );
    const address = await dashboardAddress(root);
    await root.running('web');
    const { page, requests, errors } = await watchedPage();
    await page.goto(`http://${address}/dashboard/`);
    await page.fill('#token', 'not-the-token-at-all');
    await page.click('button[type=submit]');
    await page.locator('.error', { hasText: 'That is not the token.' }).waitFor();
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    // (The page's CSP forbids eval: waits are on selectors and attributes, never on evaluated strings.)
    await page.locator('body[data-samples]:not([data-samples="0"])').waitFor({ state: 'attached' });
    await page.locator('#signout').waitFor({ state: 'visible' });

    const from = root.events.length;
    await page.click('tr[data-app="web"] button:text("Reload")');
    await page.locator('#action-result', { hasText: 'reload of web: done' }).waitFor({ timeout: 20_000 });
    await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the reload', { from });
    await page.locator('#timeline li[data-msg^="dashboard: reload of web asked"]').first().waitFor();

    await page.click('#signout button');
    await page.locator('#token').waitFor();
    await page.close();
    // The failed sign-in answers 401 (its page says so); nothing else may be an error.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    expect([...new Set(requests.map((u) => new URL(u).origin))]).toEqual([`http://${address}`]);
    expect(root.output.join('\n')).not.toContain(TOKEN);
  });
});
