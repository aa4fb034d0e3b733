/** Drawing RgbImages on canvases (nearest-neighbour enlargement for tiny ones) and PNG downloads. */
import { toBytesLikeTorchvision, type RgbImage } from '../io/rgb-image.js';

/** A canvas holding `image` at its own size, 8-bit as PULSE saves (clamp, x255, truncate). */
export function imageCanvas(image: RgbImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const bytes = toBytesLikeTorchvision(image.data);
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0, j = 0; i < bytes.length; i += 3, j += 4) {
    rgba[j] = bytes[i];
    rgba[j + 1] = bytes[i + 1];
    rgba[j + 2] = bytes[i + 2];
    rgba[j + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
  return canvas;
}

/** `image` shown at `displaySide` CSS pixels, pixelated (so an 8x8 input stays visibly 8x8). */
export function displayCanvas(image: RgbImage, displaySide: number, label: string): HTMLCanvasElement {
  const canvas = imageCanvas(image);
  canvas.style.width = `${displaySide}px`;
  canvas.style.height = `${Math.round((displaySide * image.height) / image.width)}px`;
  canvas.classList.add('pixelated');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

/** A link that downloads `image` as a PNG named `fileName`. */
export function downloadLink(image: RgbImage, fileName: string, text: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.textContent = text;
  link.download = fileName;
  link.className = 'button';
  link.href = imageCanvas(image).toDataURL('image/png');
  return link;
}
