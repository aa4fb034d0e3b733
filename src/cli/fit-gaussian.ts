import type { Command } from 'commander';
export function registerFitGaussian(program: Command): void { void program; }
