/** Sample grids: a batch of generator outputs (NHWC, [-1, 1]) tiled into one image. */
import type { RgbImage } from '../io/image.js';

export function imageGrid(batch: Float32Array, count: number, size: number, columns: number, gap = 2): RgbImage {
  const rows = Math.ceil(count / columns);
  const width = columns * size + (columns - 1) * gap;
  const height = rows * size + (rows - 1) * gap;
  const data = new Float32Array(width * height * 3).fill(1);
  for (let k = 0; k < count; k++) {
    const ox = (k % columns) * (size + gap);
    const oy = Math.floor(k / columns) * (size + gap);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          const v = (batch[((k * size + y) * size + x) * 3 + c] + 1) / 2;
          data[((oy + y) * width + ox + x) * 3 + c] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  return { width, height, data };
}
