/**
 * The FFHQ alignment of a photo: every face found (src/align/detect.ts) -> its quad
 * (src/align/quad.ts) -> shrink, crop, pad (src/align/crop-pad.ts) -> an upright square
 * (src/align/transform.ts), rounded to 8 bits as FFHQ's PNGs are. docs/align.md has the steps.
 */
import { assertRgbImage, type RgbImage } from '../io/image.js';
import { preparePhoto, type PrepareSteps } from './crop-pad.js';
import { ALIGN_DETECTION, detectFacesWithLandmarks, type AlignDetectionProtocol, type DetectedFace } from './detect.js';
import { alignQuad, faceFeatures, type AlignQuad, type FaceFeatures, type Point, type QuadRule } from './quad.js';
import { quadToSquare } from './transform.js';

export interface AlignOptions {
  /** Side of the aligned faces in pixels. */
  size: number;
  /** Bilinear supersampling before the lanczos3 downscale (default 4 = FFHQ's 4096 -> 1024). */
  supersample?: number;
  /** Detection settings (default ALIGN_DETECTION). */
  detection?: AlignDetectionProtocol;
  /** Framing (default FFHQ_RULE; LFW_CROP_RULE gives the v1 built-in model's LFW crop). */
  rule?: QuadRule;
}

/** Photos with a shorter side below this are refused: no detector finds a usable face there. */
export const MIN_PHOTO_SIDE = 32;

export interface AlignedFace {
  /** 8-bit HWC RGB, `size x size` (rounded to nearest). */
  bytes: Uint8Array;
  size: number;
  score: number;
  box: DetectedFace['box'];
  landmarks: Point[];
  features: FaceFeatures;
  /** The quad in the photo's pixels. */
  quad: AlignQuad;
  /** Border width of the detection pass that found it (0 = the photo as is). */
  border: number;
  steps: PrepareSteps;
}

/** Float RGB in [0,1] -> bytes, rounding to nearest (FFHQ: np.uint8(np.clip(np.rint(img), 0, 255))). */
export function roundToBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] * 255;
    out[i] = v > 255 ? 255 : v > 0 ? Math.round(v) : 0; // NaN -> 0
  }
  return out;
}

/** Bytes -> float RGB in [0,1]. */
export function bytesToImage(bytes: Uint8Array, size: number): RgbImage {
  const data = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i] / 255;
  return { width: size, height: size, data };
}

/** Aligns one face given its 68 landmarks in `photo`'s pixels. */
export async function alignWithLandmarks(
  photo: RgbImage,
  landmarks: readonly Point[],
  options: AlignOptions,
): Promise<{ bytes: Uint8Array; features: FaceFeatures; quad: AlignQuad; steps: PrepareSteps }> {
  const { size } = options;
  if (!Number.isInteger(size) || size < 1) throw new Error(`invalid aligned size ${size}: must be an integer >= 1`);
  const features = faceFeatures(landmarks);
  const quad = alignQuad(features, options.rule);
  const prepared = await preparePhoto(photo, quad, size);
  const square = await quadToSquare(prepared.image, prepared.quad, size, options.supersample ?? 4);
  return { bytes: roundToBytes(square.data), features, quad, steps: prepared.steps };
}

/** Throws an Error naming `name` when the photo is too small to align anything in. */
export function assertAlignable(photo: RgbImage, name: string): void {
  assertRgbImage(photo, name);
  if (Math.min(photo.width, photo.height) < MIN_PHOTO_SIDE) {
    throw new Error(`${name} is ${photo.width}x${photo.height}: too small to find and align a face in (needs at least ${MIN_PHOTO_SIDE} px on each side)`);
  }
}

/** Every face in `photo`, aligned, best detection score first (empty when none is found). */
export async function alignFaces(photo: RgbImage, options: AlignOptions, name = 'photo'): Promise<AlignedFace[]> {
  assertAlignable(photo, name);
  const faces = await detectFacesWithLandmarks(photo, options.detection ?? ALIGN_DETECTION);
  const out: AlignedFace[] = [];
  for (const face of faces) {
    const aligned = await alignWithLandmarks(photo, face.landmarks, options);
    out.push({ ...aligned, size: options.size, score: face.score, box: face.box, landmarks: face.landmarks, border: face.border });
  }
  return out;
}

/**
 * The face nearest the photo's centre (box centre to photo centre), aligned: a dataset's subject
 * when the photos are centred on one person (LFW). Throws "no face found" when there is none.
 */
export async function alignCentralFace(photo: RgbImage, options: AlignOptions, name = 'photo'): Promise<AlignedFace> {
  assertAlignable(photo, name);
  const faces = await detectFacesWithLandmarks(photo, options.detection ?? ALIGN_DETECTION);
  if (faces.length === 0) throw new Error(`${name}: no face found`);
  const cx = photo.width / 2;
  const cy = photo.height / 2;
  const dist = (f: DetectedFace) => Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy);
  const face = faces.reduce((best, f) => (dist(f) < dist(best) ? f : best));
  const aligned = await alignWithLandmarks(photo, face.landmarks, options);
  return { ...aligned, size: options.size, score: face.score, box: face.box, landmarks: face.landmarks, border: face.border };
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;
const pt = (p: { x: number; y: number }): [number, number] => [round3(p.x), round3(p.y)];

/** The per-input JSON record of one aligned face. */
export function faceRecord(face: AlignedFace, image: string): Record<string, unknown> {
  return {
    image,
    score: round3(face.score),
    detectionBorder: face.border,
    box: { x: round3(face.box.x), y: round3(face.box.y), width: round3(face.box.width), height: round3(face.box.height) },
    eyeLeft: pt(face.features.eyeLeft),
    eyeRight: pt(face.features.eyeRight),
    mouthLeft: pt(face.features.mouthLeft),
    mouthRight: pt(face.features.mouthRight),
    quad: face.quad.corners.map(pt),
    quadSize: round3(face.quad.size),
    steps: face.steps,
    landmarks: face.landmarks.map(pt),
  };
}
