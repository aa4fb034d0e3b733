/**
 * Builds the static web site (web/ + the bundle of web/main.ts + the default model + face-api's
 * two nets + tfjs's wasm binaries) into a folder anyone can host. esbuild bundles the project's
 * own modules; two substitutions make them run in a browser (package.json "browser"-field style):
 * src/io/image.ts -> src/web/image.ts (no sharp), and node: built-ins -> an empty module (they
 * are only reached on Node-only paths, such as face-api's loader from disk, replaced in the page).
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const require = createRequire(import.meta.url);
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** face-api nets the page uses (src/align/detect.ts): SSD MobileNet v1 and the 68-point landmarks. */
const FACE_API_FILES = [
  'ssd_mobilenetv1_model-weights_manifest.json',
  'ssd_mobilenetv1_model.bin',
  'face_landmark_68_model-weights_manifest.json',
  'face_landmark_68_model.bin',
];
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
const STATIC_FILES = ['index.html', 'style.css'];

export interface BuildSiteOptions {
  /** Output folder (replaced). */
  readonly outDir: string;
  /** Model directory to ship as models/default (default: the repository's models/default). */
  readonly modelDir?: string;
  /** Minify the bundle (default true). */
  readonly minify?: boolean;
}

const browserSubstitutes: Plugin = {
  name: 'pulse-browser-substitutes',
  setup(b) {
    b.onResolve({ filter: /(^|\/)io\/image\.js$/ }, (args) =>
      args.importer.includes(`${join('src', 'web')}`) ? undefined : { path: join(REPO_ROOT, 'src', 'web', 'image.ts') },
    );
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/** Writes the site; returns the bundle's size in bytes. */
export async function buildSite(options: BuildSiteOptions): Promise<{ bundleBytes: number }> {
  const out = resolve(options.outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'web', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(out, 'main.js'),
    minify: options.minify ?? true,
    sourcemap: true,
    metafile: true,
    logLevel: 'error',
    plugins: [browserSubstitutes],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  for (const f of STATIC_FILES) await copyFile(join(REPO_ROOT, 'web', f), join(out, f));
  const model = options.modelDir ?? join(REPO_ROOT, 'models', 'default');
  await mkdir(join(out, 'models', 'default'), { recursive: true });
  for (const f of ['model.json', 'weights.bin']) await copyFile(join(model, f), join(out, 'models', 'default', f));
  const faceApiModels = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await mkdir(join(out, 'face-api'));
  for (const f of FACE_API_FILES) await copyFile(join(faceApiModels, f), join(out, 'face-api', f));
  const wasmDist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  await mkdir(join(out, 'tfjs-wasm'));
  for (const f of WASM_FILES) await copyFile(join(wasmDist, f), join(out, 'tfjs-wasm', f));
  await writeFile(join(out, 'HEADERS.md'), HOSTING_NOTE);
  const bundleBytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((k) => k.endsWith('main.js'))!]!.bytes;
  return { bundleBytes };
}

const HOSTING_NOTE = `# Hosting this folder

Any static host works. For wasm threads, serve every file with
\`Cross-Origin-Opener-Policy: same-origin\` and \`Cross-Origin-Embedder-Policy: require-corp\`
(the page is then cross-origin isolated); without them the page runs single-threaded.
\`npm run web\` in the pulse-ts repository serves it so.
`;
