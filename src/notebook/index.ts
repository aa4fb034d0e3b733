/**
 * The notebooks' one import: everything a cell of notebooks/*.ipynb calls, typed.
 *
 * A notebook loads it once, in its first cells (see notebooks/README.md, "Loading the project"):
 *
 *   require('tsx/cjs/api').register();
 *   require('../src/notebook/facade-types.ts').ensureFacadeTypes();
 *   // next cell
 *   const pulse: typeof import('../.cache/notebook-types/notebook/index') = require('../src/notebook/index.ts');
 *   const { loadModel, runPulse, showImage } = pulse;
 *
 * Notebook-specific logic lives in the modules of this folder (re-exported here), general
 * pieces in the layers below; a notebook sets up, runs, shows and explains. A name a notebook
 * needs and this file lacks is added here, not `require`d from elsewhere.
 */

// Set-up: backend, model, scale and sources.
export { initBackend, activeBackend } from '../backend/select.js';
export { loadModel } from '../model/model.js';
export type { LoadedModel } from '../model/model.js';
export { notebookScale, notebookModelPath, isQuickMode, QUICK_SCALE, FULL_SCALE } from './quick.js';
export type { NotebookScale } from './quick.js';
export { lfwDir, ffhqModelPath, reproFaces, niqeParamsPath, notebookOutDir } from './sources.js';
export type { FaceSource } from './sources.js';

// Faces: generated, from LFW or files, and their low-resolution versions.
export { generatedTarget } from '../model/generated-target.js';
export { notebookFace, experimentFace, writeGeneratedFaces, downscaleFace } from './faces.js';
export type { NotebookFace } from './faces.js';

// Images.
export { imageFromNhwc, resizeImage, readImage } from '../io/image.js';
export type { RgbImage } from '../io/image.js';

// PULSE.
export { runPulse } from '../pulse/run.js';
export type { PulseResult, PulseStep } from '../pulse/run.js';
export { resolveOptions } from '../pulse/options.js';
export type { PulseOptions } from '../pulse/options.js';

// Display: images, plotly figures, tables and markdown as cell outputs.
export { showImage, showPlot, showTable, showMarkdown } from './display.js';
export type { PlotlyFigure, PlotlyTrace } from './display.js';

// 02-convergence: a recorded search and its figures.
export { runRecorded, convergenceFigures, convergenceSummaryRow } from './convergence.js';
export type { RecordedRun, LabelledRun, Snapshot } from './convergence.js';

// 03-ablations: one knob at a time on the experiment runner.
export * as ablation from './ablation.js';
export { parseAblationConfigs, planAblation, runAblation, axisImages } from './ablation-run.js';
export type { AxisConfig, AblationPassRow } from './ablation-run.js';
export { readAllResults } from '../experiments/results.js';

// 04-multiple-solutions: resampled starting points, distances, face descriptors.
export * as solutions from './solutions.js';
export { runDesign } from './design-run.js';
export type { DesignRun } from './design-run.js';
export { describeFaces, faceAnalyzerInfo } from '../eval/face-analysis.js';
export { SAME_PERSON_THRESHOLD } from '../benchmark/identity.js';

// 05-reproduce-64x: the benchmark pipeline on the paper's protocol.
export * as reproduce from './reproduce.js';
export { makeBenchData, readBenchManifest, lrDirName, benchConventionOf } from '../benchmark/bench-data.js';
export { runBenchmark } from '../benchmark/runner.js';
export { asBenchLine } from '../benchmark/result-line.js';
export { summarizeBenchmark } from '../benchmark/summary.js';
export { fetchNiqeParams } from '../metrics/niqe-model.js';
