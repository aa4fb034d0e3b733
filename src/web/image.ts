/**
 * The browser's src/io/image.ts: the web bundle maps every import of that module here
 * (scripts/web.ts), so src/align runs unchanged. The pure helpers are the same code; resizing
 * uses the plain-TypeScript resampler instead of sharp. Types are checked against the Node module.
 */
import type * as NodeImage from '../io/image.js';
import { resampleImage } from '../io/resample.js';

export * from '../io/rgb-image.js';

export const resizeImage: typeof NodeImage.resizeImage = async (image, width, height, kernel) => resampleImage(image, width, height, kernel);
