/**
 * The Winograd ops with the kernels the CPU picks (AVX-512 where it has it): the suite is
 * test/helpers/winograd-suite.ts.
 */
import { defineWinogradSuite } from './helpers/winograd-suite.js';

await defineWinogradSuite();
