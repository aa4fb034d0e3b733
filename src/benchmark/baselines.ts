/**
 * Baseline upscalers for the benchmark, applied to the same LR inputs as PULSE:
 *
 * - `nearest`: each LR pixel repeated factor x factor times (exact, in JS).
 * - `bicubic` (default kernel `matlab`): MATLAB `imresize(lr, factor, 'bicubic')`, the bicubic of
 *   the super-resolution literature: Keys a = -0.5, pixel centres aligned ((x + 0.5) / f - 0.5),
 *   half-sample symmetric borders, no antialiasing when enlarging; the project's exact port
 *   (src/metrics/matlab-imresize.ts, also used by NIQE), in float64, clamped to [0, 1].
 *   Kernel `sharp`: libvips' bicubic through sharp (`resize(..., { kernel: 'cubic' })`, via
 *   src/io/image.ts resizeImage, 16 bits), the "bicubic" of the project's montages. libvips'
 *   'cubic' is the Catmull-Rom spline (= Keys a = -0.5), but on enlargement its sample grid is
 *   shifted by half an output pixel against the centre-aligned grid (a step edge between LR
 *   pixels 1 and 2 crosses 0.5 at output pixel 8 instead of 7.5 at 4x; measured here), and its
 *   16-bit output clips the overshoot. On a 16 -> 128 LFW face its LR-consistency MSE was 3.3e-4
 *   against 2.4e-4 for MATLAB's.
 * - `esrgan`: the ESRGAN-slim models of @upscalerjs/esrgan-slim (MIT; "rdn" architecture from
 *   idealo/image-super-resolution, C1 D2 G4 G0 64 T10, trained on DIV2K; x2, x3, x4, x8 weights
 *   shipped inside the npm package, about 1 MB each). They are tfjs layers models and run in
 *   this process on the project's active tfjs backend (loaded from disk with a small IOHandler;
 *   the `upscaler` package is not needed: it only adds tiling and pre/post-processing, done here).
 *   Inputs are pixel values in [0, 255] and so are outputs, as the package's model definition
 *   says (`inputRange: [0, 255]` for the rdn architecture; checked against the package's own
 *   sample outputs: 0.25 grey levels mean absolute difference with [0, 255], 0.6-1.2 with [0, 1]).
 *   Factors the package has no model for are reached by applying models one after another,
 *   largest first: 8 = x8, 4 = x4, 2 = x2, 16 = x8 then x2, 32 = x8 then x4, 64 = x8 then x8.
 *   Large inputs are processed in tiles with enough context that the result equals the
 *   whole-image result (`tile`, default 48 LR px; context 16 px, more than the network's
 *   receptive radius of 10 LR px).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { assertRgbImage, type RgbImage, resizeImage } from '../io/image.js';
import { matlabImresizeHwc } from '../metrics/matlab-imresize.js';

export const BASELINES = ['nearest', 'bicubic', 'esrgan'] as const;
export const BICUBIC_KERNELS = ['matlab', 'sharp'] as const;
export type BicubicKernel = (typeof BICUBIC_KERNELS)[number];
export type BaselineName = (typeof BASELINES)[number];

/** One line per baseline, for reports. */
export const BASELINE_DESCRIPTIONS: Readonly<Record<BaselineName, string>> = {
  nearest: 'nearest neighbour (each LR pixel repeated factor x factor)',
  bicubic: "MATLAB imresize bicubic (Keys a = -0.5, centre-aligned; the project's port)",
  esrgan: '@upscalerjs/esrgan-slim (rdn, DIV2K); x8/x4/x2 models applied in sequence for the factor',
};

function checkUpscale(lr: RgbImage, factor: number): void {
  assertRgbImage(lr, 'LR input');
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upscaling factor ${factor} must be a positive integer`);
}

/** Nearest neighbour: out(y, x) = lr(floor(y / f), floor(x / f)). */
export function upscaleNearest(lr: RgbImage, factor: number): RgbImage {
  checkUpscale(lr, factor);
  const w = lr.width * factor;
  const h = lr.height * factor;
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < w; x++) {
      const s = (sy * lr.width + Math.floor(x / factor)) * 3;
      const d = (y * w + x) * 3;
      out[d] = lr.data[s];
      out[d + 1] = lr.data[s + 1];
      out[d + 2] = lr.data[s + 2];
    }
  }
  return { width: w, height: h, data: out };
}

/** Bicubic enlargement: MATLAB imresize (default) or libvips via sharp; see the module comment. */
export async function upscaleBicubic(lr: RgbImage, factor: number, kernel: BicubicKernel = 'matlab'): Promise<RgbImage> {
  checkUpscale(lr, factor);
  if (kernel === 'sharp') return resizeImage(lr, lr.width * factor, lr.height * factor, 'cubic');
  if (kernel !== 'matlab') throw new Error(`bicubic kernel "${String(kernel)}" is not one of: ${BICUBIC_KERNELS.join(', ')}`);
  const up = matlabImresizeHwc(Float64Array.from(lr.data), lr.width, lr.height, 3, factor);
  const data = Float32Array.from(up.data, (v) => (v > 1 ? 1 : v > 0 ? v : 0));
  return { width: up.width, height: up.height, data };
}

export function bicubicDescription(kernel: BicubicKernel): string {
  return kernel === 'sharp'
    ? "libvips bicubic via sharp ('cubic' = Catmull-Rom = Keys a = -0.5; half an output pixel off-centre)"
    : BASELINE_DESCRIPTIONS.bicubic;
}

// ---------------------------------------------------------------------------------------------
// ESRGAN

/** Scales with a shipped model, usable for power-of-two factors (x3 exists too). */
export const ESRGAN_SCALES = [8, 4, 2] as const;
/** LR pixels of context around each tile (> the networks' receptive radius of 10 px). */
export const ESRGAN_TILE_CONTEXT = 16;

/** The models applied in turn for a factor, largest first (e.g. 32 -> [8, 4]). */
export function esrganPlan(factor: number, scales: readonly number[] = ESRGAN_SCALES): number[] {
  if (!Number.isInteger(factor) || factor < 2) throw new Error(`ESRGAN factor ${factor} must be an integer >= 2`);
  const sorted = [...scales].sort((a, b) => b - a);
  const plan: number[] = [];
  let left = factor;
  while (left > 1) {
    const s = sorted.find((k) => left % k === 0);
    if (s === undefined) throw new Error(`ESRGAN has models for x${sorted.join(', x')}; factor ${factor} is not a product of them`);
    plan.push(s);
    left /= s;
  }
  return plan;
}

/** The package's model definition (the slice used here; see dist/cjs/.../esrgan.js). */
interface EsrganDefinition {
  scale: number;
  modelType: string;
  inputRange: [number, number];
  outputRange: [number, number];
  meta: Record<string, unknown>;
  _internals: { path: string; name: string; version: string };
}

type TfLayers = typeof import('@tensorflow/tfjs');
type LayersModel = import('@tensorflow/tfjs').LayersModel;

const require = createRequire(import.meta.url);
const PACKAGE = '@upscalerjs/esrgan-slim';

/** The installed package's folder (its `exports` map hides package.json, so walk up from the entry). */
export function esrganPackageDir(): string {
  let dir = dirname(require.resolve(PACKAGE));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === PACKAGE) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of ${PACKAGE}`);
    dir = up;
  }
}

export interface EsrganUpscaler {
  /** e.g. "@upscalerjs/esrgan-slim 1.0.0 (rdn C1 D2 G4 G064 T10, div2k) on tensorflow". */
  readonly description: string;
  readonly version: string;
  /** Models used for a factor, in order. */
  plan(factor: number): number[];
  /** LR float RGB in [0, 1] -> the factor x larger image in [0, 1] (clamped). */
  upscale(lr: RgbImage, factor: number): Promise<RgbImage>;
  dispose(): void;
}

export interface EsrganOptions {
  /** Tile side in LR pixels of each model's input (default 48). */
  readonly tile?: number;
}

/**
 * Loads ESRGAN-slim (models are loaded on first use of each scale) on the active tfjs backend.
 * Throws with the reason when the package is not installed.
 */
export async function loadEsrgan(options: EsrganOptions = {}): Promise<EsrganUpscaler> {
  const tile = options.tile ?? 48;
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`ESRGAN tile ${tile} must be a positive integer`);
  let pkgDir: string;
  try {
    pkgDir = esrganPackageDir();
  } catch (err) {
    throw new Error(`the esrgan baseline needs the npm package ${PACKAGE} (npm install ${PACKAGE}): ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  // tfjs-layers, through @tensorflow/tfjs (a dependency of the project), shares this tfjs-core engine.
  const tfl = (await import('@tensorflow/tfjs')) as TfLayers;
  const models = new Map<number, Promise<{ model: LayersModel; def: EsrganDefinition }>>();

  const load = (scale: number) => {
    let m = models.get(scale);
    if (!m) {
      m = (async () => {
        const def = require(`${PACKAGE}/${scale}x`) as EsrganDefinition;
        if (def.modelType !== 'layers') throw new Error(`${PACKAGE}/${scale}x is a ${def.modelType} model; expected layers`);
        const jsonPath = join(pkgDir, def._internals.path);
        const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
          modelTopology: object;
          format?: string;
          weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
        };
        const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
        const all = Buffer.concat(buffers);
        const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
        const model = await tfl.loadLayersModel({
          load: async () => ({
            modelTopology: json.modelTopology,
            format: json.format,
            weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
            weightData,
          }),
        });
        return { model, def };
      })();
      models.set(scale, m);
    }
    return m;
  };

  const runTiled = (model: LayersModel, def: EsrganDefinition, x: tf.Tensor4D, scale: number): tf.Tensor4D => {
    const [, h, w] = x.shape;
    const [inLo, inHi] = def.inputRange;
    const [outLo, outHi] = def.outputRange;
    const pre = (t: tf.Tensor4D) => tf.add(tf.mul(t, inHi - inLo), inLo);
    const post = (t: tf.Tensor) => tf.clipByValue(tf.div(tf.sub(t, outLo), outHi - outLo), 0, 1);
    if (h <= tile && w <= tile) return tf.tidy(() => post(model.predict(pre(x)) as tf.Tensor) as tf.Tensor4D);
    const c = ESRGAN_TILE_CONTEXT;
    const rows: tf.Tensor4D[] = [];
    for (let y0 = 0; y0 < h; y0 += tile) {
      const cols: tf.Tensor4D[] = [];
      const y1 = Math.min(h, y0 + tile);
      for (let x0 = 0; x0 < w; x0 += tile) {
        const x1 = Math.min(w, x0 + tile);
        cols.push(
          tf.tidy(() => {
            const ya = Math.max(0, y0 - c);
            const xa = Math.max(0, x0 - c);
            const yb = Math.min(h, y1 + c);
            const xb = Math.min(w, x1 + c);
            const patch = tf.slice(x, [0, ya, xa, 0], [1, yb - ya, xb - xa, 3]);
            const out = post(model.predict(pre(patch)) as tf.Tensor) as tf.Tensor4D;
            return tf.slice(out, [0, (y0 - ya) * scale, (x0 - xa) * scale, 0], [1, (y1 - y0) * scale, (x1 - x0) * scale, 3]);
          }),
        );
      }
      rows.push(tf.concat(cols, 2));
      tf.dispose(cols);
    }
    const out = tf.concat(rows, 1);
    tf.dispose(rows);
    return out;
  };

  return {
    description: `${PACKAGE} ${version} (rdn C1 D2 G4 G064 T10, div2k) on ${tf.getBackend()}`,
    version,
    plan: (factor) => esrganPlan(factor),
    async upscale(lr, factor) {
      checkUpscale(lr, factor);
      const plan = esrganPlan(factor);
      let x = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
      try {
        for (const scale of plan) {
          const { model, def } = await load(scale);
          const next = runTiled(model, def, x, scale);
          x.dispose();
          x = next;
        }
        const data = (await x.data()) as Float32Array;
        return { width: lr.width * factor, height: lr.height * factor, data: Float32Array.from(data) };
      } finally {
        x.dispose();
      }
    },
    dispose() {
      for (const m of models.values()) void m.then(({ model }) => model.dispose()).catch(() => {});
      models.clear();
    },
  };
}
