/**
 * The Winograd ops with the AVX2 kernels, which machines without AVX-512 run: the addon reads
 * PULSE_WINOGRAD_ISA when it loads, in this file's own process (vitest forks one per file).
 * Skipped with the reason where the ops do not run at all.
 */
import { defineWinogradSuite } from './helpers/winograd-suite.js';

process.env.PULSE_WINOGRAD_ISA = 'avx2';
await defineWinogradSuite('avx2');
