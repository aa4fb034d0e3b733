import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { addBackendOption, backendRequest } from '../src/cli/backend-flag.js';
import { runCli } from './helpers/cli.js';

/** The request a command sees for `argv`, through the same option the CLI declares. */
async function requestFor(argv: string[]): Promise<string | undefined> {
  let seen: string | undefined = 'not called';
  const program = addBackendOption(new Command('pulse').exitOverride());
  program.command('demo').option('--steps <n>').action((_flags, cmd: Command) => {
    seen = backendRequest(cmd);
  });
  await program.parseAsync(argv, { from: 'user' });
  return seen;
}

describe('--backend reaches the command as an argument', () => {
  it('is read wherever it is written, and absent when not given', async () => {
    expect(await requestFor(['--backend', 'wasm', 'demo'])).toBe('wasm');
    expect(await requestFor(['demo', '--steps', '2', '--backend', 'cpu'])).toBe('cpu');
    expect(await requestFor(['demo'])).toBeUndefined();
  });

  it('pulse speed passes it to initBackend and leaves PULSE_BACKEND alone', async () => {
    const before = process.env.PULSE_BACKEND;
    for (const argv of [['speed', '--backend', 'no-such'], ['--backend', 'no-such', 'bench']]) {
      const r = await runCli([...argv, '--res', '16', '--fmap-base', '64', '--factor', '4', '--steps', '2']);
      expect(r.code).toBe(1);
      expect(r.err).toContain('PULSE_BACKEND="no-such" is not a known backend');
    }
    expect(process.env.PULSE_BACKEND).toBe(before);
  });

  it('pulse experiment and pulse benchmark use it (their help lists it once, among the global options)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'backend-flag-'));
    const face = join(work, 'face.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 128, g: 100, b: 90 } } }).png().toFile(face);
    const config = join(work, 'exp.json');
    writeFileSync(config, JSON.stringify({ name: 'flag', inputs: { files: [face], factor: 8 }, seeds: [1], base: {}, grid: { steps: [2, 3] }, out: join(work, 'out') }));
    const r = await runCli(['experiment', config, '--backend', 'no-such', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('PULSE_BACKEND="no-such" is not a known backend');

    for (const command of ['experiment', 'benchmark']) {
      const help = await runCli([command, '--help']);
      expect(help.out.match(/--backend <name>/g), help.out).toHaveLength(1);
      expect(help.out).toContain('Global Options:');
    }
  });
});
