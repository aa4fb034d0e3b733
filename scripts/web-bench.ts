/**
 * Seconds per PULSE step in headless chromium, per browser backend: builds and serves the site,
 * opens it with `backend=NAME&steps=S&solutions=B`, runs the committed fixture face at 8x
 * (models/default, 64 px), and prints the median of the steps after the first (warm-up).
 * webgl runs on SwiftShader here (no GPU), which chromium only allows with --enable-unsafe-swiftshader.
 *   npx tsx scripts/web-bench.ts [--backends webgl,wasm] [--steps 6] [--batches 1,4]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { REPO_ROOT, buildSite } from '../src/site/build.js';
import { serveSite } from '../src/site/serve.js';

const { values } = parseArgs({ options: { backends: { type: 'string' }, steps: { type: 'string' }, batches: { type: 'string' } } });
const backends = (values.backends ?? 'webgl,wasm').split(',');
const steps = Number(values.steps ?? 6);
const batches = (values.batches ?? '1').split(',').map(Number);
const executablePath = process.env.PULSE_CHROMIUM ?? execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();

const site = join(REPO_ROOT, 'dist', 'web-bench');
await buildSite({ outDir: site });
const { server, url } = await serveSite(site, 0);
try {
  for (const backend of backends) {
    for (const batch of batches) {
      const profile = await mkdtemp(join(tmpdir(), 'pulse-web-bench-'));
      const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
      args.push(backend === 'webgl' ? '--enable-unsafe-swiftshader' : '--disable-gpu');
      const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`${url}?backend=${backend}&steps=${steps}&solutions=${batch}&seed=1`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
        const description = (await page.textContent('#backend')) ?? '';
        await page.setInputFiles('#file', join(REPO_ROOT, 'test', 'fixtures', 'web-face.jpg'));
        await page.waitForSelector('#setup-section:not([hidden])', { timeout: 120_000 });
        // Started from a task of its own: a webgl first step blocks the page for a while.
        await page.evaluate(() => setTimeout(() => document.getElementById('run')!.click(), 0));
        await page.waitForSelector('body[data-runs="1"]', { timeout: 600_000 });
        const elapsed = JSON.parse((await page.getAttribute('body', 'data-step-seconds'))!) as number[];
        const per = elapsed.slice(1).map((t, i) => t - elapsed[i]).sort((a, b) => a - b);
        const median = per[Math.floor(per.length / 2)];
        console.log(JSON.stringify({ backend, batch, steps, first_step_s: elapsed[0], median_step_s: median, description: description.trim() }));
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    }
  }
} finally {
  server.close();
}
