/**
 * Lists the images of a face dataset, in one of two layouts:
 *
 * - LFW-style: `<dir>/manifest.csv` with columns `file,identity,split` (as in
 *   ../shared/datasets/lfw/manifest.csv and what datasets/fetch-lfw.mjs writes), the images in
 *   `<dir>/images/` (or in `<dir>` itself when there is no `images/` folder). Rows can be
 *   filtered by split (`train` | `dev`; the split is by identity, so no person is in both).
 * - A plain folder: every image file in it (optionally in its subfolders too, as FFHQ's
 *   `images1024x1024/00000/...` layout needs), sorted by path (byte order, so the order is the
 *   same on every machine and locale).
 *
 * Entries come back in a fixed order (manifest rows sorted by file name; folder files sorted),
 * with absolute paths.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export type Split = 'train' | 'dev';
export const SPLITS: readonly Split[] = ['train', 'dev'];

export interface FaceEntry {
  /** Absolute path of the image file. */
  path: string;
  /** The person (manifest layouts only). */
  identity?: string;
  /** The split the manifest assigns (manifest layouts only). */
  split?: Split;
}

export interface ListFacesOptions {
  /**
   * Keep only this split (manifest layouts). `'all'` (default) keeps every row. Asking for a
   * split of a plain folder, which has none, is an error.
   */
  split?: Split | 'all';
  /**
   * The manifest CSV. Default: `<dir>/manifest.csv` when that exists (LFW-style), otherwise the
   * folder is listed as a plain folder. Relative file names in it are resolved against
   * `<dir>/images` when that folder exists, else against `<dir>`.
   */
  manifest?: string;
  /** Plain folders: also list subfolders (default false). */
  recursive?: boolean;
  /**
   * Manifest rows whose file does not exist: skip them with a warning (true), or throw an Error
   * naming them (false, default).
   */
  skipMissing?: boolean;
  /** Where warnings go (default `console.warn`). */
  warn?: (message: string) => void;
}

/** Extensions listed from plain folders (lower-cased; formats sharp decodes). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

/** Columns a manifest must have (any further columns are ignored). */
export const MANIFEST_COLUMNS = ['file', 'identity', 'split'] as const;

export interface ManifestRow {
  file: string;
  identity: string;
  split: Split;
}

/** Lists the images of `dir` (see the module comment for the two layouts). */
export async function listFaces(dir: string, options: ListFacesOptions = {}): Promise<FaceEntry[]> {
  const root = resolve(dir);
  const split = options.split ?? 'all';
  if (split !== 'all' && !SPLITS.includes(split)) throw new Error(`unknown split '${String(split)}' (expected train, dev or all)`);
  const warn = options.warn ?? ((m: string) => console.warn(m));

  const stat = await fsp.stat(root).catch(() => null);
  if (stat === null) throw new Error(`dataset folder ${root} does not exist`);
  if (!stat.isDirectory()) throw new Error(`dataset folder ${root} is not a directory`);

  const manifestPath = options.manifest !== undefined ? resolve(options.manifest) : join(root, 'manifest.csv');
  const useManifest = options.manifest !== undefined || existsSync(manifestPath);

  if (!useManifest) {
    if (split !== 'all') {
      throw new Error(`${root} has no manifest.csv, so it has no '${split}' split; list it with split 'all' or give a manifest`);
    }
    const files = await listImageFiles(root, options.recursive === true);
    if (files.length === 0) throw new Error(`${root} holds no image files (${IMAGE_EXTENSIONS.join(', ')})`);
    return files.map((path) => ({ path }));
  }

  let text: string;
  try {
    text = await fsp.readFile(manifestPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read manifest ${manifestPath}: ${code === 'ENOENT' ? 'no such file' : String(err)}`, { cause: err });
  }
  const rows = parseManifest(text, manifestPath);
  const imageDir = existsSync(join(root, 'images')) ? join(root, 'images') : root;

  const wanted = rows.filter((r) => split === 'all' || r.split === split).sort((a, b) => compareBytes(a.file, b.file));
  const present: FaceEntry[] = [];
  const missing: string[] = [];
  await forEachLimited(wanted, 16, async (row) => {
    const path = resolve(imageDir, row.file);
    const ok = await fsp
      .stat(path)
      .then((s) => s.isFile())
      .catch(() => false);
    if (!ok) missing.push(path);
  });
  const missingSet = new Set(missing);
  for (const row of wanted) {
    const path = resolve(imageDir, row.file);
    if (!missingSet.has(path)) present.push({ path, identity: row.identity, split: row.split });
  }
  if (missing.length > 0) {
    missing.sort(compareBytes);
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length - 5} more)` : '');
    const what = `${missing.length} of ${wanted.length} files listed in ${manifestPath} do not exist: ${shown}`;
    if (options.skipMissing !== true) throw new Error(`${what} (pass skipMissing to skip them)`);
    warn(`warning: ${what}; skipping them`);
  }
  return present;
}

/**
 * Parses a manifest CSV (header row naming at least `file,identity,split`; RFC 4180 quoting;
 * blank lines ignored). Throws on a missing column, an unknown split, an empty file name, a
 * file name with a path separator in a `..` component, or a file listed twice.
 */
export function parseManifest(text: string, name = 'manifest'): ManifestRow[] {
  const records = parseCsv(text.replace(/^\uFEFF/, ''));
  if (records.length === 0) throw new Error(`${name} is empty (expected a header ${MANIFEST_COLUMNS.join(',')})`);
  const header = records[0].map((h) => h.trim());
  const col = Object.fromEntries(MANIFEST_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof MANIFEST_COLUMNS)[number], number>;
  const absent = MANIFEST_COLUMNS.filter((c) => col[c] < 0);
  if (absent.length > 0) throw new Error(`${name} lacks column(s) ${absent.join(', ')} (header: ${header.join(',')})`);

  const rows: ManifestRow[] = [];
  const seen = new Set<string>();
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.length === 1 && rec[0].trim() === '') continue;
    const line = `${name} row ${r + 1}`;
    const file = (rec[col.file] ?? '').trim();
    const identity = (rec[col.identity] ?? '').trim();
    const split = (rec[col.split] ?? '').trim();
    if (file === '') throw new Error(`${line}: empty file name`);
    if (file.split(/[\\/]/).includes('..')) throw new Error(`${line}: file name ${file} leaves the dataset folder`);
    if (split !== 'train' && split !== 'dev') throw new Error(`${line}: unknown split '${split}' (expected train or dev)`);
    if (seen.has(file)) throw new Error(`${line}: ${file} is listed twice`);
    seen.add(file);
    rows.push({ file, identity, split });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

async function listImageFiles(root: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (recursive && !e.name.startsWith('.')) await walk(path);
      } else if ((e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && isImageName(e.name)) {
        out.push(path);
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => compareBytes(relative(root, a), relative(root, b)));
}

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** Code-unit order (what `Array.prototype.sort` does by default), independent of locale. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Minimal RFC 4180 CSV: commas, double-quoted fields with "" escapes, CRLF or LF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
