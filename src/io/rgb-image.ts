/**
 * The project's in-memory RGB image and the helpers on it that need no file system or native
 * library, so that the web page bundles them too. src/io/image.ts (sharp) re-exports them.
 */

/** An RGB image: `data` is HWC (row-major, then R,G,B per pixel), values nominally in [0,1]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

export type ResizeKernel = 'nearest' | 'cubic' | 'lanczos3';

/** Throws unless `image` is a well-formed RgbImage. */
export function assertRgbImage(image: RgbImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`${what} has invalid size ${width}x${height} (width and height must be positive integers)`);
  }
  if (!(data instanceof Float32Array)) throw new Error(`${what} data must be a Float32Array`);
  if (data.length !== width * height * 3) {
    throw new Error(`${what} is ${width}x${height}x3 = ${width * height * 3} values but data holds ${data.length}`);
  }
}

/**
 * Float RGB to bytes exactly as torchvision's ToPILImage does after PULSE's `clamp(0, 1)`:
 * `tensor.mul(255).byte()`, i.e. a float32 multiply then truncation toward zero.
 * (`Math.fround(x * 255)` is exactly the float32 product because x is a float32.) NaN gives 0.
 */
export function toBytesLikeTorchvision(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    const clamped = x > 1 ? 1 : x > 0 ? x : 0; // NaN -> 0
    out[i] = Math.floor(Math.fround(clamped * 255));
  }
  return out;
}

/** Copies image `batchIndex` out of an NHWC (N x height x width x 3) float batch. */
export function imageFromNhwc(data: Float32Array, batchIndex: number, size: { width: number; height: number }): RgbImage {
  const { width, height } = size;
  const per = width * height * 3;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`invalid image size ${width}x${height}`);
  }
  if (data.length % per !== 0) {
    throw new Error(`NHWC batch of ${data.length} values is not a whole number of ${width}x${height}x3 images`);
  }
  const n = data.length / per;
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= n) {
    throw new Error(`batch index ${batchIndex} out of range for a batch of ${n}`);
  }
  return { width, height, data: data.slice(batchIndex * per, (batchIndex + 1) * per) };
}

/** The largest centred square (offsets rounded down when the excess is odd). */
export function centerCropSquare(image: RgbImage): RgbImage {
  assertRgbImage(image);
  const side = Math.min(image.width, image.height);
  const left = Math.floor((image.width - side) / 2);
  const top = Math.floor((image.height - side) / 2);
  if (side === image.width && side === image.height) return { width: side, height: side, data: image.data.slice() };
  const out = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    const start = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(start, start + side * 3), y * side * 3);
  }
  return { width: side, height: side, data: out };
}
