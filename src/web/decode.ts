/**
 * A photo file -> float RGB in [0, 1], with the browser's own decoder (EXIF orientation applied,
 * alpha dropped). Photos with a side over MAX_PHOTO_SIDE are downscaled first (the browser's
 * high-quality resize), with a notice: alignment needs no more, and memory stays bounded.
 */
import type { RgbImage } from '../io/rgb-image.js';

export const MAX_PHOTO_SIDE = 2048;

export interface DecodedPhoto {
  readonly image: RgbImage;
  readonly notices: readonly string[];
}

/** RGBA bytes (ImageData) -> RgbImage. */
export function rgbaToImage(rgba: Uint8ClampedArray, width: number, height: number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    data[i] = rgba[j] / 255;
    data[i + 1] = rgba[j + 1] / 255;
    data[i + 2] = rgba[j + 2] / 255;
  }
  return { width, height, data };
}

export async function decodePhoto(file: Blob, name: string): Promise<DecodedPhoto> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${name} is not an image this browser can read (try a JPEG or PNG photo)`);
  }
  const notices: string[] = [];
  const longer = Math.max(bitmap.width, bitmap.height);
  if (longer > MAX_PHOTO_SIDE) {
    const scale = MAX_PHOTO_SIDE / longer;
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    notices.push(`${name} is ${bitmap.width}x${bitmap.height}; it was downscaled to ${width}x${height} first`);
    bitmap.close();
    bitmap = await createImageBitmap(file, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' });
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser gives no 2D canvas to read the photo with');
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return { image: rgbaToImage(pixels.data, pixels.width, pixels.height), notices };
}
