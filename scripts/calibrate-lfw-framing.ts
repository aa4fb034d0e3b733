/**
 * Measures where face-api's landmarks put the eyes and mouth inside LFW_CROP on LFW dev photos,
 * and prints the quad rule (src/align/quad.ts LFW_CROP_RULE) that cuts that framing out of any
 * photo from its landmarks: half side = max(eyeScale |e|, mouthScale |m|), centre = eye midpoint
 * + centreShift m (e the eye-to-eye vector, m eye midpoint to mouth midpoint). The medians over
 * the photos make the median face land exactly on LFW_CROP. docs/align.md records the output.
 *
 *   npx tsx scripts/calibrate-lfw-framing.ts [--count 40] [--lfw ../shared/datasets/lfw]
 */
import { parseArgs } from 'node:util';
import { LFW_DETECTION, detectFacesWithLandmarks } from '../src/align/detect.js';
import { faceFeatures } from '../src/align/quad.js';
import { initBackend } from '../src/backend/select.js';
import { LFW_CROP } from '../src/data/crop.js';
import { listFaces } from '../src/data/face-folder.js';
import { readImage } from '../src/io/image.js';
import { median } from '../src/util/stats.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '40' }, lfw: { type: 'string', default: '../shared/datasets/lfw' } } });
await initBackend();
const entries = (await listFaces(values.lfw!, { split: 'dev' })).slice(0, Number(values.count));
const eyeScale: number[] = [];
const mouthScale: number[] = [];
const along: number[] = [];
const across: number[] = [];
const half = LFW_CROP.size / 2;
const centre = { x: LFW_CROP.left + half, y: LFW_CROP.top + half };
for (const e of entries) {
  const { image } = await readImage(e.path);
  const faces = await detectFacesWithLandmarks(image, LFW_DETECTION);
  if (faces.length === 0) continue;
  const cx = image.width / 2;
  const cy = image.height / 2;
  const dist = (f: (typeof faces)[number]) => Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy);
  const face = faces.reduce((b, f) => (dist(f) < dist(b) ? f : b));
  const f = faceFeatures(face.landmarks);
  const eyeAvg = { x: (f.eyeLeft.x + f.eyeRight.x) / 2, y: (f.eyeLeft.y + f.eyeRight.y) / 2 };
  const ev = { x: f.eyeRight.x - f.eyeLeft.x, y: f.eyeRight.y - f.eyeLeft.y };
  const m = { x: (f.mouthLeft.x + f.mouthRight.x) / 2 - eyeAvg.x, y: (f.mouthLeft.y + f.mouthRight.y) / 2 - eyeAvg.y };
  const mm = Math.hypot(m.x, m.y);
  eyeScale.push(half / Math.hypot(ev.x, ev.y));
  mouthScale.push(half / mm);
  const d = { x: centre.x - eyeAvg.x, y: centre.y - eyeAvg.y };
  along.push((d.x * m.x + d.y * m.y) / (mm * mm));
  across.push((d.x * -m.y + d.y * m.x) / (mm * mm));
}
const r = (v: number) => Math.round(v * 1000) / 1000;
console.log(JSON.stringify({ photos: entries.length, withFace: eyeScale.length, eyeScale: r(median(eyeScale)), mouthScale: r(median(mouthScale)), centreShift: r(median(along)), across: r(median(across)) }));
