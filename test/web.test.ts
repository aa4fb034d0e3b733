/**
 * The web page in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), headless, on wasm. The site is built and served as `npm run web` does; a fixture
 * face goes in (test/fixtures/web-face.jpg: seed 4 of v1, the built-in model until session 7, nobody, lanczos3 to 128 px
 * on a 64 px grey border, JPEG q90), is found and aligned in the page, and PULSE runs
 * with 2 solutions at 8x: 30 steps, eps 3e-3 (eps is also the L2 loss's clamp, so it shapes the
 * search). In Node (native, eps 2e-3) the same face reached L2 2.0e-3/2.8e-3 after 20 steps and
 * 1.4e-3/1.5e-3 after 40; in the page, 20 steps at eps 5e-3 gave 3.4e-3/4.3e-3, too close. Screenshots go to runs/web-test/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, buildSite } from '../src/site/build.js';
import { serveSite } from '../src/site/serve.js';

function findChromium(): string | null {
  if (process.env.PULSE_CHROMIUM) return process.env.PULSE_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || null;
    } catch {
      /* not installed under this name */
    }
  }
  return null;
}

const CHROMIUM = findChromium();
const ARTIFACTS = join(REPO_ROOT, 'runs', 'web-test');
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'web-face.jpg');
const EPS = 3e-3;
// 40 steps: at 30 one final L2 came within 10% of eps on this machine (best L2 was 1.8e-3).
const STEPS = 40;
const SETTINGS = `backend=wasm&steps=${STEPS}&solutions=2&seed=1&eps=${EPS}`;
const RUN_TIMEOUT = 150_000;

let server: Server;
let url: string;
let context: BrowserContext;
let page: Page;
let profile: string;
const consoleErrors: string[] = [];

interface Card {
  success: string;
  finalL2: number;
  minL2: number;
  fingerprint: string;
}

async function cards(): Promise<Card[]> {
  return page.$$eval('#results .solution', (els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { success: d.success!, finalL2: Number(d.finalL2), minL2: Number(d.minL2), fingerprint: d.fingerprint! };
    }),
  );
}

describe.skipIf(CHROMIUM === null)('the web page in headless chromium (wasm)', () => {
  beforeAll(async () => {
    const site = join(REPO_ROOT, 'dist', 'web-test');
    await buildSite({ outDir: site });
    ({ server, url } = await serveSite(site, 0));
    await mkdir(ARTIFACTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), 'pulse-web-test-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1100, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(`${url}?${SETTINGS}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await context?.close();
    server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('loads cross-origin isolated, on wasm, with the settings from the URL', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.textContent('#backend')).toMatch(/Backend: wasm \(SIMD/);
    expect(await page.inputValue('#steps')).toBe(String(STEPS));
    expect(await page.inputValue('#solutions')).toBe('2');
    expect(await page.inputValue('#eps')).toBe(String(EPS));
  });

  it('a file that is not an image gives a clear message and the page keeps working', async () => {
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
    await expect.poll(() => page.textContent('#messages')).toMatch(/notes\.txt is not an image/);
    expect(await page.isHidden('#setup-section')).toBe(true);
  });

  it('the fixture face is found, aligned and downscaled 8x', async () => {
    await page.setInputFiles('#file', FIXTURE);
    await page.waitForSelector('#setup-section:not([hidden])', { timeout: 60_000 });
    expect(await page.$$('#faces .face')).toHaveLength(1);
    expect(await page.textContent('#lowres')).toContain('8x8 px');
  });

  it('PULSE gives 2 solutions whose downscaled checks meet eps', async () => {
    await page.click('#run');
    await page.waitForSelector('body[data-runs="1"]', { timeout: RUN_TIMEOUT });
    const first = await cards();
    await writeFile(join(ARTIFACTS, 'result.json'), JSON.stringify({ settings: SETTINGS, solutions: first }, null, 1));
    expect(first).toHaveLength(2);
    for (const c of first) {
      expect(c.success).toBe('true');
      expect(c.minL2).toBeLessThanOrEqual(EPS);
      expect(c.finalL2).toBeLessThanOrEqual(EPS);
    }
    expect(first[0].fingerprint).not.toBe(first[1].fingerprint);
    expect(await page.textContent('#progress')).toContain(`done: 2/2 within eps after ${STEPS} steps`);
    await page.screenshot({ path: join(ARTIFACTS, 'result.png'), fullPage: true });
  });

  it('the same seed and backend give the same solutions twice', async () => {
    const before = await cards();
    await page.click('#run');
    await page.waitForSelector('body[data-runs="2"]', { timeout: RUN_TIMEOUT });
    const after = await cards();
    expect(after.map((c) => c.fingerprint)).toEqual(before.map((c) => c.fingerprint));
    expect(after.map((c) => c.minL2)).toEqual(before.map((c) => c.minL2));
  });

  it('Cancel stops the run within a step, and the page runs again after it', async () => {
    // #steps sits in the (closed) advanced panel; set it as a person who opened it would.
    const setSteps = (n: number) =>
      page.$eval('#steps', (el, v) => {
        (el as HTMLInputElement).value = String(v);
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }, n);
    await setSteps(400);
    await page.click('#run');
    await page.waitForFunction(() => /step [1-9]/.test(document.querySelector('#progress')?.textContent ?? ''), undefined, { timeout: RUN_TIMEOUT });
    // "Within a step" in steps, not seconds: a loaded machine makes a step slow, not Cancel late.
    // The click is dispatched in the page at the moment the progress line is read (Playwright's
    // own click first waits for the button to be stable, which takes steps while the plot redraws).
    const clickedAt = await page.evaluate(() => {
      const step = Number(/step (\d+)\//.exec(document.querySelector('#progress')?.textContent ?? '')?.[1]);
      (document.querySelector('#cancel') as HTMLButtonElement).click();
      return step;
    });
    await page.waitForFunction(() => document.body.dataset.running === undefined, undefined, { timeout: 60_000 });
    const message = (await page.textContent('#messages')) ?? '';
    expect(message).toMatch(/Cancelled after step \d+\./);
    const stoppedAt = Number(/Cancelled after step (\d+)\./.exec(message)![1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(clickedAt);
    // The step in flight finishes and no further one starts.
    expect(stoppedAt).toBeLessThanOrEqual(clickedAt + 1);
    expect(await page.isDisabled('#run')).toBe(false);
    expect(await page.getAttribute('body', 'data-runs')).toBe('2'); // no result from the cancelled run
    await setSteps(STEPS);
  });

  it('a backend that fails mid-run falls back to the next one, says so, and finishes', async () => {
    // The test hook fails wasm once at step 2; the run restarts on cpu (slow: 3 steps only).
    const second = await context.newPage();
    second.on('pageerror', (e) => consoleErrors.push(`page error (fallback page): ${e.message}`));
    await second.goto(`${url}?backend=wasm&steps=3&solutions=2&seed=1&eps=${EPS}&fail-at-step=1`);
    await second.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await second.setInputFiles('#file', FIXTURE);
    await second.waitForSelector('#setup-section:not([hidden])', { timeout: 60_000 });
    await second.click('#run');
    await second.waitForSelector('body[data-runs="1"]', { timeout: RUN_TIMEOUT });
    expect(await second.textContent('#messages')).toMatch(/wasm.* failed \(simulated wasm failure at step 2 \(test hook fail-at-step\)\); restarted on cpu/);
    expect(await second.textContent('#backend')).toMatch(/Backend: cpu/);
    expect(await second.$$('#results .solution')).toHaveLength(2);
    await second.close();
  });

  it('logged no console errors', () => {
    expect(consoleErrors).toEqual([]);
  });
});

if (CHROMIUM === null) console.warn('test/web.test.ts skipped: no chromium on PATH (apt-get install chromium, or set PULSE_CHROMIUM)');
else if (!existsSync(CHROMIUM)) console.warn(`PULSE_CHROMIUM=${CHROMIUM} does not exist`);
