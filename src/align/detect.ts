/**
 * Every face in a photo with its 68 landmarks, for the FFHQ alignment: @vladmandic/face-api's
 * SSD MobileNet v1 detector and its 68-point landmark net (weights inside the npm package), run
 * in this process on the project's tfjs backend, loaded the way src/eval/face-analysis.ts loads
 * it (the same `require`d module, so the nets load once per process whichever loads first).
 *
 * The protocol: passes, each tried only when the ones before found nothing. A pass is a border
 * width b (a fraction of the photo's longer side): b = 0 is the photo as it is (SSD resizes it to
 * 512x512 itself); b > 0 centres the photo on a mid-grey canvas with a border of b times its
 * longer side on every side. face-api misses faces that fill the frame (deep-funneled LFW, tight
 * crops), and which border brings one back varies from face to face: on 20 LFW photos that
 * neither the bare photo nor a 2x border found, a 0.5x or 1x border found 19; on 10 that the bare
 * photo and a 0.5x border missed, 1x found 8 and 2x found 9. Every box scoring >= 0.5 is a face.
 * - ALIGN_DETECTION (any photo): 0, 1, 2, 0.5.
 * - LFW_DETECTION (tight 150 px face photos, where the bare photo fails for most): 1, 0.5, 2, 0,
 *   so most photos need one detector pass.
 * Landmarks come in face-api's frame: continuous coordinates of the input tensor, i.e. a
 * pixel's centre is at +0.5 — see docs/align.md for why that does not matter here.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend, initBackend } from '../backend/select.js';
import { assertRgbImage, type RgbImage } from '../io/image.js';
import type { Point } from './quad.js';

export interface AlignDetectionProtocol {
  /** A box scoring at least this is a face (face-api's default 0.5). */
  readonly minConfidence: number;
  /** At most this many faces per photo. */
  readonly maxFaces: number;
  /** Border widths (fractions of the photo's longer side; 0 = none), tried in order until one finds a face. */
  readonly borders: readonly number[];
  /** Value of the border, in [0, 1]. */
  readonly padValue: number;
}

/** For any photo. */
export const ALIGN_DETECTION: AlignDetectionProtocol = Object.freeze({
  minConfidence: 0.5,
  maxFaces: 100,
  borders: Object.freeze([0, 1, 2, 0.5]),
  padValue: 0.5,
});

/** For photos framed tightly on one face, such as deep-funneled LFW. */
export const LFW_DETECTION: AlignDetectionProtocol = Object.freeze({ ...ALIGN_DETECTION, borders: Object.freeze([1, 0.5, 2, 0]) });

export interface DetectedFace {
  /** SSD score in [0, 1]. */
  score: number;
  /** Box in photo pixels. */
  box: { x: number; y: number; width: number; height: number };
  /** The 68 landmarks in photo pixels (dlib / iBUG 300-W order). */
  landmarks: Point[];
  /** The border width of the pass that found it (0 = the photo as is). */
  border: number;
}

// The slice of face-api's API used here.
interface FaceApiNet {
  loadFromDisk(dir: string): Promise<void>;
  isLoaded: boolean;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: { x: number; y: number }[] };
}
export interface FaceApi {
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiNet };
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): { withFaceLandmarks(): PromiseLike<FaceApiResult[]> };
}

/** Gives face-api with its SSD and 68-landmark nets loaded; the web page supplies its own (src/web/face-api.ts). */
export type FaceApiLoader = () => Promise<FaceApi>;

/** Node: the package's node-wasm build on the project's backend, weights read from the package. */
async function loadFaceApiFromPackage(): Promise<FaceApi> {
  try {
    activeBackend();
  } catch {
    await initBackend();
  }
  const require = createRequire(import.meta.url);
  const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  for (const net of [api.nets.ssdMobilenetv1, api.nets.faceLandmark68Net]) {
    if (!net.isLoaded) await net.loadFromDisk(modelDir);
  }
  return api;
}

let loader: FaceApiLoader = loadFaceApiFromPackage;
let loading: Promise<FaceApi> | undefined;

/** Replaces how face-api is loaded (the browser cannot read the package from disk). */
export function setFaceApiLoader(next: FaceApiLoader): void {
  loader = next;
  loading = undefined;
}

function loadFaceApi(): Promise<FaceApi> {
  loading ??= loader().catch((err) => {
    loading = undefined;
    throw new Error(`cannot load the face detector (@vladmandic/face-api): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  return loading;
}

async function detectOn(api: FaceApi, image: RgbImage, protocol: AlignDetectionProtocol): Promise<FaceApiResult[]> {
  const input = tf.tidy(() => tf.mul(tf.clipByValue(tf.tensor3d(image.data, [image.height, image.width, 3]), 0, 1), 255) as tf.Tensor3D);
  try {
    const options = new api.SsdMobilenetv1Options({ minConfidence: protocol.minConfidence, maxResults: protocol.maxFaces });
    return await api.detectAllFaces(input, options).withFaceLandmarks();
  } finally {
    input.dispose();
  }
}

/** `image` centred on a canvas of `value` with a border of `margin` pixels on every side. */
export function padWithBorder(image: RgbImage, margin: number, value: number): RgbImage {
  const w = image.width + 2 * margin;
  const h = image.height + 2 * margin;
  const data = new Float32Array(w * h * 3).fill(value);
  for (let y = 0; y < image.height; y++) {
    data.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), ((y + margin) * w + margin) * 3);
  }
  return { width: w, height: h, data };
}

/** All faces of `image` (float RGB in [0,1]), best score first. */
export async function detectFacesWithLandmarks(image: RgbImage, protocol: AlignDetectionProtocol = ALIGN_DETECTION): Promise<DetectedFace[]> {
  assertRgbImage(image);
  const api = await loadFaceApi();
  const convert = (r: FaceApiResult, offset: number, border: number): DetectedFace => ({
    score: r.detection.score,
    box: { x: r.detection.box.x - offset, y: r.detection.box.y - offset, width: r.detection.box.width, height: r.detection.box.height },
    landmarks: r.landmarks.positions.map((p) => ({ x: p.x - offset, y: p.y - offset })),
    border,
  });
  for (const border of protocol.borders) {
    const margin = Math.round(border * Math.max(image.width, image.height));
    const canvas = margin > 0 ? padWithBorder(image, margin, protocol.padValue) : image;
    const faces = (await detectOn(api, canvas, protocol)).map((r) => convert(r, margin, border));
    if (faces.length > 0) return faces.sort((a, b) => b.score - a.score);
  }
  return [];
}
