import type { Command } from 'commander';
export function registerConvert(program: Command): void { void program; }
