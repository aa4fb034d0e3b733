import type { Command } from 'commander';
export function registerUpsample(program: Command): void { void program; }
