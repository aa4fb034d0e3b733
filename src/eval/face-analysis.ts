/**
 * Face detection and 128-d identity descriptors for evaluation, from @vladmandic/face-api
 * (SSD MobileNet v1 detector, 68-point landmarks, the dlib-style ResNet face descriptor; the
 * weights ship inside the npm package under `model/`, so nothing is downloaded).
 *
 * How it runs: in this process, on the project's own tfjs engine and backend. face-api's
 * `dist/face-api.node-wasm.js` build is loaded with `require`; it `require`s
 * `@tensorflow/tfjs` (which re-exports the same `@tensorflow/tfjs-core` module this project
 * imports: no package here has an `exports` map, so ESM `import` and CJS `require` resolve
 * to the same file and share one engine) and `@tensorflow/tfjs-backend-wasm` (which only
 * registers the wasm backend; it never activates it). face-api never calls `setBackend`, so
 * it runs on whatever `initBackend()` chose (native `tensorflow`, `wasm` or `cpu`); both the
 * native and the wasm backend were checked to give the same detections and descriptors. The
 * `node.js` build would instead need @tensorflow/tfjs-node, an optional dependency that may be
 * missing. Descriptors differ between backends only by float rounding.
 *
 * The protocol (FACE_PROTOCOL), applied identically to generated and real faces:
 * 1. resize the face (any size; 64x64 for a 64 px model) so its longer side is 160 px, with
 *    libvips' bicubic ('cubic', Catmull-Rom; src/io/image.ts resizeImage), values clamped to [0,1];
 * 2. pad it with a mid-grey (0.5) border as wide as the face itself on every side (a 480x480
 *    canvas with the face in the middle third): face-api's detectors are trained on faces
 *    with context, and on tight crops such as LFW_CROP they score 0.1-0.3 where the padded
 *    canvas scores 0.8-1.0;
 * 3. run SSD MobileNet v1 (it resizes the canvas to 512x512 itself) and keep the best-scoring
 *    box; a face is "found" when its score is at least 0.5 (face-api's default);
 * 4. for descriptors: 68 landmarks on that box, then face-api's aligned 150x150 face chip and
 *    the 128-d descriptor (Euclidean distance < 0.6 is face-api's "same person" threshold).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend, initBackend, type BackendInfo } from '../backend/select.js';
import { assertRgbImage, resizeImage, type RgbImage } from '../io/image.js';

/** How faces are prepared and judged (see the module comment). */
export interface FaceProtocol {
  /** The face is resized (bicubic) so that its longer side has this many pixels. */
  readonly upscaleTo: number;
  /** Border on each side, as a fraction of the resized face's longer side. */
  readonly marginFraction: number;
  /** The border: 'edge' repeats the outermost pixels outwards, 'grey' is the constant `padValue`. */
  readonly pad: 'edge' | 'grey';
  /** Value of a 'grey' border, in [0, 1]. */
  readonly padValue: number;
  /** A face counts as found when the detector's best score is at least this. */
  readonly minConfidence: number;
  /** Detections below this score are not reported at all (score 0). */
  readonly scoreFloor: number;
}

export const FACE_PROTOCOL: FaceProtocol = Object.freeze({
  upscaleTo: 160,
  marginFraction: 2,
  pad: 'grey',
  padValue: 0.5,
  minConfidence: 0.5,
  scoreFloor: 0.05,
});

/** A box in the pixel coordinates of the image given (not the padded canvas). */
export interface FaceBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface FaceDetection {
  /** Whether the best detection scored at least `minConfidence`. */
  readonly found: boolean;
  /** The best detection's score (0 when nothing scored above `scoreFloor`). */
  readonly score: number;
  /** The best detection's box, when there is one (also for scores below `minConfidence`). */
  readonly box?: FaceBox;
}

export interface FaceAnalysis extends FaceDetection {
  /** 128-d descriptor of the best face; null when no face was found. */
  readonly descriptor: Float32Array | null;
}

// The slice of face-api's API used here (its own .d.ts pulls in tfjs typings of its build).
interface FaceApiBox {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface FaceApiDetection {
  score: number;
  box: FaceApiBox;
}
interface FaceApiNet {
  loadFromDisk(dir: string): Promise<void>;
  isLoaded: boolean;
}
interface FaceApiTask<T> extends PromiseLike<T> {
  withFaceLandmarks(): FaceApiTask<(T & object) | undefined> & {
    withFaceDescriptor(): PromiseLike<{ detection: FaceApiDetection; descriptor: Float32Array } | undefined>;
  };
}
interface FaceApi {
  version: string;
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiNet; faceRecognitionNet: FaceApiNet };
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectSingleFace(input: tf.Tensor3D, options: unknown): FaceApiTask<FaceApiDetection | undefined>;
}

const require = createRequire(import.meta.url);

/** The face-api package's folder of weights. */
export function faceApiModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

export interface FaceAnalyzerInfo {
  /** e.g. "@vladmandic/face-api 1.7.15 (ssd_mobilenetv1, face_landmark_68, face_recognition)". */
  readonly description: string;
  readonly version: string;
  readonly modelDir: string;
  /** The tfjs backend it runs on (the project's). */
  readonly backend: BackendInfo;
  readonly protocol: FaceProtocol;
}

let loading: Promise<{ api: FaceApi; info: Omit<FaceAnalyzerInfo, 'protocol'> }> | undefined;

async function backendForFaces(): Promise<BackendInfo> {
  try {
    return activeBackend();
  } catch {
    return initBackend();
  }
}

/** Loads face-api and its three networks once per process (on the project's backend). */
function loadFaceApi(): Promise<{ api: FaceApi; info: Omit<FaceAnalyzerInfo, 'protocol'> }> {
  loading ??= (async () => {
    const backend = await backendForFaces();
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const modelDir = faceApiModelDir();
    const nets = api.nets;
    for (const net of [nets.ssdMobilenetv1, nets.faceLandmark68Net, nets.faceRecognitionNet]) {
      if (!net.isLoaded) await net.loadFromDisk(modelDir);
    }
    const version = (require('@vladmandic/face-api/package.json') as { version: string }).version;
    return {
      api,
      info: {
        description: `@vladmandic/face-api ${version} (ssd_mobilenetv1, face_landmark_68, face_recognition) on ${backend.name}`,
        version,
        modelDir,
        backend,
      },
    };
  })().catch((err) => {
    loading = undefined;
    throw new Error(`cannot load the face analyser (@vladmandic/face-api): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  return loading;
}

/** What analyses faces: library, weights, backend and protocol (for reports). */
export async function faceAnalyzerInfo(protocol: FaceProtocol = FACE_PROTOCOL): Promise<FaceAnalyzerInfo> {
  return { ...(await loadFaceApi()).info, protocol };
}

/** Steps 1-2 of the protocol: the padded canvas the detector sees, and where the face lies in it. */
export async function prepareFaceCanvas(
  image: RgbImage,
  protocol: FaceProtocol = FACE_PROTOCOL,
): Promise<{ canvas: RgbImage; offset: number; scaleX: number; scaleY: number }> {
  assertRgbImage(image, 'face');
  const s = protocol.upscaleTo / Math.max(image.width, image.height);
  const w = Math.max(1, Math.round(image.width * s));
  const h = Math.max(1, Math.round(image.height * s));
  const face = w === image.width && h === image.height ? image : await resizeImage(image, w, h, 'cubic');
  const m = Math.round(protocol.marginFraction * Math.max(w, h));
  const cw = w + 2 * m;
  const ch = h + 2 * m;
  const data = new Float32Array(cw * ch * 3).fill(protocol.padValue);
  const edge = protocol.pad === 'edge';
  for (let cy = 0; cy < ch; cy++) {
    const y = cy - m;
    if (!edge && (y < 0 || y >= h)) continue;
    const sy = y < 0 ? 0 : y >= h ? h - 1 : y;
    for (let cx = 0; cx < cw; cx++) {
      const x = cx - m;
      if (!edge && (x < 0 || x >= w)) continue;
      const sx = x < 0 ? 0 : x >= w ? w - 1 : x;
      for (let c = 0; c < 3; c++) {
        const v = face.data[(sy * w + sx) * 3 + c];
        data[(cy * cw + cx) * 3 + c] = v > 1 ? 1 : v > 0 ? v : 0; // clamp; NaN -> 0
      }
    }
  }
  return { canvas: { width: cw, height: ch, data }, offset: m, scaleX: w / image.width, scaleY: h / image.height };
}

/**
 * Detects (and optionally describes) the best face in each image, one image at a time.
 * `onImage(done)` is called after each image (for progress bars).
 */
export async function analyzeFaces(
  images: readonly RgbImage[],
  options: { descriptors?: boolean; protocol?: FaceProtocol; onImage?: (done: number) => void } = {},
): Promise<FaceAnalysis[]> {
  const protocol = options.protocol ?? FACE_PROTOCOL;
  const { api } = await loadFaceApi();
  const detectorOptions = new api.SsdMobilenetv1Options({ minConfidence: protocol.scoreFloor, maxResults: 10 });
  const out: FaceAnalysis[] = [];
  for (const image of images) {
    const { canvas, offset, scaleX, scaleY } = await prepareFaceCanvas(image, protocol);
    const input = tf.tidy(() => tf.mul(tf.tensor3d(canvas.data, [canvas.height, canvas.width, 3]), 255) as tf.Tensor3D);
    let detection: FaceApiDetection | undefined;
    let descriptor: Float32Array | null = null;
    try {
      if (options.descriptors) {
        const r = await api.detectSingleFace(input, detectorOptions).withFaceLandmarks().withFaceDescriptor();
        detection = r?.detection;
        descriptor = r ? Float32Array.from(r.descriptor) : null;
      } else {
        detection = await api.detectSingleFace(input, detectorOptions);
      }
    } finally {
      input.dispose();
    }
    const score = detection?.score ?? 0;
    const found = detection !== undefined && score >= protocol.minConfidence;
    const box = detection
      ? {
          x: (detection.box.x - offset) / scaleX,
          y: (detection.box.y - offset) / scaleY,
          width: detection.box.width / scaleX,
          height: detection.box.height / scaleY,
        }
      : undefined;
    out.push({ found, score, ...(box ? { box } : {}), descriptor: found ? descriptor : null });
    options.onImage?.(out.length);
  }
  return out;
}

/** Whether each image holds a face (best SSD score >= minConfidence), with its score and box. */
export async function detectFaces(
  images: readonly RgbImage[],
  options: { protocol?: FaceProtocol; onImage?: (done: number) => void } = {},
): Promise<FaceDetection[]> {
  const r = await analyzeFaces(images, { ...options, descriptors: false });
  return r.map(({ found, score, box }) => ({ found, score, ...(box ? { box } : {}) }));
}

/** The 128-d descriptor of the best face in each image, or null where no face was found. */
export async function describeFaces(
  images: readonly RgbImage[],
  options: { protocol?: FaceProtocol; onImage?: (done: number) => void } = {},
): Promise<(Float32Array | null)[]> {
  return (await analyzeFaces(images, { ...options, descriptors: true })).map((r) => r.descriptor);
}

export { descriptorDistance } from './descriptor-distance.js';
