/** The benchmark's faces, read once per face as the runs come face by face. */
import type { RgbImage } from '../io/image.js';
import { type BenchFace, readBenchImage } from './bench-data.js';
import type { BenchmarkConfig } from './benchmark-config.js';

export interface LoadedFace {
  readonly face: BenchFace;
  readonly hr: RgbImage;
  readonly hrBytes: Uint8Array;
  readonly lr: RgbImage;
  hrDescriptor?: Promise<Float32Array | null>;
}

/** The current face's HR, LR (hash-checked) and HR descriptor; runs come face by face. */
export class FaceCache {
  private current: { id: string; face: Promise<LoadedFace> } | null = null;
  constructor(
    private readonly dataDir: string,
    private readonly config: BenchmarkConfig,
  ) {}

  get(face: BenchFace): Promise<LoadedFace> {
    if (this.current?.id !== face.id) {
      const load = async (): Promise<LoadedFace> => {
        const hr = await readBenchImage(this.dataDir, face.hr);
        const lr = await readBenchImage(this.dataDir, face.lr[String(this.config.factor)]);
        return { face, hr: hr.image, hrBytes: hr.bytes, lr: lr.image };
      };
      this.current = { id: face.id, face: load() };
    }
    return this.current.face;
  }
}
