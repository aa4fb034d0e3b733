/**
 * FFHQ alignment, step 1: 68 facial landmarks -> the oriented square ("quad") that is cut out of
 * the photo. The rule is the one of FFHQ's `recreate_aligned_images` (NVlabs/ffhq-dataset,
 * download_ffhq.py), also used by PULSE's align_face.py; see docs/align.md.
 *
 * Coordinates are image pixels, x to the right and y down, in the landmark detector's frame.
 */

/** A point in image pixels. */
export interface Point {
  x: number;
  y: number;
}

/** The features the rule uses, from the 68-point layout (dlib / iBUG 300-W order). */
export interface FaceFeatures {
  /** Mean of points 36-41 (the eye on the image's left: the subject's right eye). */
  eyeLeft: Point;
  /** Mean of points 42-47 (the eye on the image's right). */
  eyeRight: Point;
  /** Point 48 (left mouth corner, image side). */
  mouthLeft: Point;
  /** Point 54 (right mouth corner). */
  mouthRight: Point;
}

/** The oriented crop square in source pixels. */
export interface AlignQuad {
  /**
   * Corners in the order PIL's QUAD transform takes them (FFHQ's `quad`): top-left, bottom-left,
   * bottom-right, top-right of the output square.
   */
  corners: [Point, Point, Point, Point];
  /** Centre c = eye midpoint + 0.1 * eye-to-mouth. */
  center: Point;
  /** Half the side, along the output's x axis (FFHQ's `x`). */
  x: Point;
  /** Half the side, along the output's y axis (FFHQ's `y`: x turned 90 degrees clockwise on screen). */
  y: Point;
  /** Side length 2|x| (FFHQ's `qsize`). */
  size: number;
}

export const LANDMARK_COUNT = 68;

const mean = (pts: readonly Point[]): Point => ({
  x: pts.reduce((s, p) => s + p.x, 0) / pts.length,
  y: pts.reduce((s, p) => s + p.y, 0) / pts.length,
});

/** Eye centres and mouth corners from 68 landmarks (throws unless there are exactly 68 finite points). */
export function faceFeatures(landmarks: readonly Point[]): FaceFeatures {
  if (landmarks.length !== LANDMARK_COUNT) throw new Error(`FFHQ alignment needs ${LANDMARK_COUNT} landmarks, got ${landmarks.length}`);
  if (!landmarks.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))) throw new Error('landmarks hold a non-finite coordinate');
  return {
    eyeLeft: mean(landmarks.slice(36, 42)),
    eyeRight: mean(landmarks.slice(42, 48)),
    mouthLeft: landmarks[48],
    mouthRight: landmarks[54],
  };
}

const hypot = (p: Point): number => Math.hypot(p.x, p.y);

/**
 * A framing rule: how large the crop square is and where its centre sits, in units of the face's
 * own vectors (e = eye to eye, m = eye midpoint to mouth midpoint). The orientation is always
 * FFHQ's (below); only scale and centre differ between conventions.
 */
export interface QuadRule {
  /** Name for reports (`ffhq`, `lfw-crop`). */
  readonly name: string;
  /** Half side >= eyeScale |e|. */
  readonly eyeScale: number;
  /** Half side >= mouthScale |m|. */
  readonly mouthScale: number;
  /** Centre = eye midpoint + centreShift m. */
  readonly centreShift: number;
}

/** FFHQ's rule (recreate_aligned_images): half side max(2|e|, 1.8|m|), centre eye midpoint + 0.1 m. */
export const FFHQ_RULE: QuadRule = Object.freeze({ name: 'ffhq', eyeScale: 2, mouthScale: 1.8, centreShift: 0.1 });

/**
 * The framing of LFW_CROP (src/data/crop.ts: the 112 px box of deep-funneled LFW that the v1
 * built-in model was trained on), found from landmarks so that it can be cut out of any photo
 * (CelebA-HQ, FFHQ, a user's photo). Measured by scripts/calibrate-lfw-framing.ts on the first
 * 40 LFW dev photos (face-api landmarks, 40 of 40 found): the medians of 56 / |e|, 56 / |m| and
 * of the box centre's offset from the eye midpoint along m put the median face exactly on
 * LFW_CROP (docs/align.md). Much tighter than FFHQ's: the eyes are ~0.37 of the side apart.
 */
export const LFW_CROP_RULE: QuadRule = Object.freeze({ name: 'lfw-crop', eyeScale: 1.351, mouthScale: 1.236, centreShift: 0.395 });

/**
 * The crop quad (FFHQ's rule by default):
 * - eye_to_eye e = eyeRight - eyeLeft; eye_to_mouth m = mouth midpoint - eye midpoint;
 * - x = e - (-m.y, m.x), i.e. e plus m turned 90 degrees so it points along e: the bisector of
 *   the eye line and the face's vertical axis, so a tilted eye line or a leaning mouth both count;
 * - |x| = max(2|e|, 1.8|m|) (the crop is 4 eye distances or 3.6 eye-mouth distances wide);
 *   with another rule max(eyeScale |e|, mouthScale |m|);
 * - y = (-x.y, x.x), x turned a quarter to point down the face;
 * - centre c = eye midpoint + 0.1 m (rule: centreShift m); corners c -x -y, c -x +y, c +x +y,
 *   c +x -y; side 2|x|.
 */
export function alignQuad(features: FaceFeatures, rule: QuadRule = FFHQ_RULE): AlignQuad {
  const { eyeLeft, eyeRight, mouthLeft, mouthRight } = features;
  const eyeAvg = { x: (eyeLeft.x + eyeRight.x) / 2, y: (eyeLeft.y + eyeRight.y) / 2 };
  const e = { x: eyeRight.x - eyeLeft.x, y: eyeRight.y - eyeLeft.y };
  const mouthAvg = { x: (mouthLeft.x + mouthRight.x) / 2, y: (mouthLeft.y + mouthRight.y) / 2 };
  const m = { x: mouthAvg.x - eyeAvg.x, y: mouthAvg.y - eyeAvg.y };
  // np.flipud(m) * [-1, 1] = (-m.y, m.x)
  const dir = { x: e.x + m.y, y: e.y - m.x };
  const len = hypot(dir);
  if (!(len > 0)) throw new Error('degenerate landmarks: eyes and mouth give no direction');
  const half = Math.max(hypot(e) * rule.eyeScale, hypot(m) * rule.mouthScale);
  if (!(half > 0)) throw new Error('degenerate landmarks: zero eye and eye-mouth distances');
  const x = { x: (dir.x / len) * half, y: (dir.y / len) * half };
  const y = { x: -x.y, y: x.x };
  const c = { x: eyeAvg.x + rule.centreShift * m.x, y: eyeAvg.y + rule.centreShift * m.y };
  const at = (sx: number, sy: number): Point => ({ x: c.x + sx * x.x + sy * y.x, y: c.y + sx * x.y + sy * y.y });
  return { corners: [at(-1, -1), at(-1, 1), at(1, 1), at(1, -1)], center: c, x, y, size: 2 * half };
}

/**
 * Where a source point lands in the aligned square, as fractions of the side ((0,0) the top-left
 * corner of the output, (1,1) the bottom-right): the inverse of the quad's map
 * (u, v) -> c + (2u-1) x + (2v-1) y, which is a similarity because the quad is a square.
 */
export function toAligned(quad: AlignQuad, p: Point): Point {
  const d = { x: p.x - quad.center.x, y: p.y - quad.center.y };
  const xx = quad.x.x * quad.x.x + quad.x.y * quad.x.y;
  return {
    x: 0.5 + (d.x * quad.x.x + d.y * quad.x.y) / (2 * xx),
    y: 0.5 + (d.x * quad.y.x + d.y * quad.y.y) / (2 * xx),
  };
}

/** The source point that lands at (u, v) (fractions of the side) of the aligned square. */
export function fromAligned(quad: AlignQuad, u: number, v: number): Point {
  const a = 2 * u - 1;
  const b = 2 * v - 1;
  return { x: quad.center.x + a * quad.x.x + b * quad.y.x, y: quad.center.y + a * quad.x.y + b * quad.y.y };
}

/**
 * The FFHQ template: where the eye centres and the mouth midpoint land for a frontal face whose
 * eye line is perpendicular to the eye-mouth line, given r = |eye_to_mouth| / |eye_to_eye|.
 * With s = max(2, 1.8 r) (the half side in eye distances):
 *   eyes at (0.5 -+ 1/(4s), 0.5 - 0.05 r/s), mouth midpoint at (0.5, 0.5 + 0.45 r/s).
 * At the balance point r = 10/9 (both scale rules agree): eyes (0.375, 0.4722) and
 * (0.625, 0.4722), mouth (0.5, 0.75). For r < 10/9 the eyes stay at x = 0.375 / 0.625 and move
 * up towards y = 0.5 - 0.025 r; for r > 10/9 the mouth stays at y = 0.75, the eyes at y = 0.4722,
 * and the eyes move inwards.
 */
export function ffhqTemplate(ratio: number): { eyeLeft: Point; eyeRight: Point; mouth: Point } {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new Error(`invalid eye-mouth / eye-eye ratio ${ratio}`);
  const s = Math.max(2, 1.8 * ratio);
  const ey = 0.5 - (0.05 * ratio) / s;
  return {
    eyeLeft: { x: 0.5 - 1 / (4 * s), y: ey },
    eyeRight: { x: 0.5 + 1 / (4 * s), y: ey },
    mouth: { x: 0.5, y: 0.5 + (0.45 * ratio) / s },
  };
}

/** |eye_to_mouth| / |eye_to_eye| of a face. */
export function eyeMouthRatio(f: FaceFeatures): number {
  const e = hypot({ x: f.eyeRight.x - f.eyeLeft.x, y: f.eyeRight.y - f.eyeLeft.y });
  const m = hypot({
    x: (f.mouthLeft.x + f.mouthRight.x - f.eyeLeft.x - f.eyeRight.x) / 2,
    y: (f.mouthLeft.y + f.mouthRight.y - f.eyeLeft.y - f.eyeRight.y) / 2,
  });
  return m / e;
}
