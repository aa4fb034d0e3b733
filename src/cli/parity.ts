/** `pulse parity <case dir...>`: checks recorded official runs, every quantity against its bound. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { runParityCase } from '../parity/case.js';
import type { Check } from '../parity/check.js';
import { backendRequest } from './backend-flag.js';

/** A case folder, or a folder of case folders. */
export function expandCaseDirs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const dir = resolve(p);
    if (existsSync(join(dir, 'case.json'))) out.push(dir);
    else if (existsSync(dir)) {
      const sub = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'case.json')))
        .map((e) => join(dir, e.name))
        .sort();
      if (sub.length === 0) throw new Error(`${dir} is not a parity case (no case.json) and holds none`);
      out.push(...sub);
    } else throw new Error(`parity case ${dir} does not exist`);
  }
  return out;
}

/** One line per check: the error, the bound applied and where the bound came from; then any notes. */
export function formatCheck(c: Check): string {
  const status = c.pass ? 'ok  ' : 'FAIL';
  const origin = c.boundOrigin ? ` [bound: ${c.boundOrigin}]` : '';
  const line = `  ${status} ${c.quantity.padEnd(40)} ${c.error.toExponential(2).padStart(10)} <= ${c.bound.toExponential(2).padEnd(9)} (${c.measure})${origin}`;
  return [line, ...(c.notes ?? []).map((n) => `         ${n}`)].join('\n');
}

export function registerParity(program: Command): void {
  program
    .command('parity')
    .description('check recorded runs of the official PULSE code (../shared/parity/cases/*) against this implementation')
    .argument('<cases...>', 'case folders, or folders of case folders')
    .option('--json', 'print one JSON report on stdout')
    .option('--strict-end-state', 'judge latent_end/noise_end/image_end by max|a-b|/max|b| <= 1e-2, uncalibrated, instead of the calibrated ||a-b||/||b|| bound (docs/parity.md)')
    .action(async (cases: string[], opts: { json?: boolean; strictEndState?: boolean }, cmd: Command) => {
      const backend = await initBackend(backendRequest(cmd));
      const log = (s: string) => (opts.json ? process.stderr : process.stdout).write(`${s}\n`);
      log(`backend: ${backend.description}`);
      const reports = [];
      for (const dir of expandCaseDirs(cases)) {
        log(`case ${dir}`);
        const report = await runParityCase(dir, (c) => log(formatCheck(c)), { strictEndState: opts.strictEndState });
        log(report.pass ? '  => all quantities within tolerance' : '  => PARITY FAILED');
        reports.push(report);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ backend: backend.name, reports }, null, 1)}\n`);
      process.exitCode = reports.every((r) => r.pass) ? 0 : 1;
    });
}
