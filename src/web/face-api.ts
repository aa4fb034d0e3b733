/**
 * face-api in the browser for src/align/detect.ts: the package's build that uses the page's own
 * tfjs (not its bundled copy, which would be a second engine), with the SSD and 68-landmark
 * weights fetched from the site (scripts/web.ts copies them to `face-api/`).
 */
import * as faceapi from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import { setFaceApiLoader, type FaceApi } from '../align/detect.js';

/** Makes src/align load face-api from `baseUrl` (a folder with the weights manifests). */
export function useBrowserFaceApi(baseUrl: string): void {
  setFaceApiLoader(async () => {
    for (const net of [faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net]) {
      if (!net.isLoaded) await net.loadFromUri(baseUrl);
    }
    return faceapi as unknown as FaceApi;
  });
}
