#!/usr/bin/env node
/**
 * Fetches deep-funneled LFW (Labeled Faces in the Wild, Huang et al. 2007; deep funneling by
 * Huang, Mattar, Lee and Learned-Miller 2012) and lays it out like ../shared/datasets/lfw:
 *
 *   <out>/images/<Name>_<NNNN>.jpg   150x150 JPEGs, flat (the archive's per-person folders dropped)
 *   <out>/manifest.csv               file,identity,split   (split by identity: train | dev)
 *   <out>/pairs.csv                  a,b,same               (from the official pairs.txt, if fetched)
 *   <out>/downloads/                 the archive and the official lists, kept for re-runs
 *   <out>/.gitignore                 "*": nothing here is ever committed
 *
 * Usage:
 *   node datasets/fetch-lfw.mjs --out datasets/lfw
 *   node datasets/fetch-lfw.mjs --out datasets/lfw --archive ~/Downloads/lfw-deepfunneled.tgz [--no-lists]
 *
 * Options:
 *   --out DIR            where to put the dataset (default datasets/lfw)
 *   --archive PATH       use this local lfw-deepfunneled.tgz (or .tar) instead of downloading
 *   --people PATH        use this local people.txt   (else downloaded unless --no-lists)
 *   --pairs PATH         use this local pairs.txt    (else downloaded unless --no-lists)
 *   --no-lists           do not download people.txt / pairs.txt (no pairs.csv is written)
 *   --url URL            archive URL (default: the official one below)
 *   --lists-url URL      folder URL of people.txt and pairs.txt (default: the official one)
 *   --seed STRING        split seed (default "pulse-ts-lfw")
 *   --dev-fraction F     share of identities put in dev (default 0.1)
 *   --force              replace an existing manifest.csv / pairs.csv
 *
 * Split rule (fixed and seeded, per identity, independent of which other people are present):
 *   u = first 4 bytes of sha256("<seed>\n<identity>") read as a big-endian uint32, / 2^32;
 *   the identity is in `dev` when u < dev-fraction, else in `train`.
 * All images of a person are in the same split. This split is NOT the one in
 * ../shared/datasets/lfw/manifest.csv (that set is a 6,862-image subset with its own split), and
 * it is unrelated to LFW's official 10-fold "View 2" protocol.
 *
 * LFW is for research use. Download failures (no network, site down) end with a message saying
 * how to pass a manually downloaded archive with --archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

export const ARCHIVE_URL = 'http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz';
export const LISTS_URL = 'http://vis-www.cs.umass.edu/lfw/';
export const DEFAULT_SEED = 'pulse-ts-lfw';
export const DEFAULT_DEV_FRACTION = 0.1;
export const MANIFEST_HEADER = 'file,identity,split';

// ---------------------------------------------------------------------------------------------
// Split

/** 'dev' or 'train' for an identity under the documented seeded rule. */
export function assignSplit(identity, seed = DEFAULT_SEED, devFraction = DEFAULT_DEV_FRACTION) {
  const digest = createHash('sha256').update(`${seed}\n${identity}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  return u < devFraction ? 'dev' : 'train';
}

// ---------------------------------------------------------------------------------------------
// Tar reading (ustar, GNU long names, pax path records), streaming

class ChunkReader {
  constructor(iterable) {
    this.it = iterable[Symbol.asyncIterator]();
    this.chunks = [];
    this.length = 0;
    this.done = false;
  }

  async fill(n) {
    while (this.length < n && !this.done) {
      const { value, done } = await this.it.next();
      if (done) this.done = true;
      else if (value.length > 0) {
        this.chunks.push(value);
        this.length += value.length;
      }
    }
  }

  /** n bytes, fewer at end of stream (an empty Buffer when nothing is left). */
  async read(n) {
    await this.fill(n);
    const take = Math.min(n, this.length);
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** Discards n bytes; returns how many were there. */
  async skip(n) {
    let left = n;
    while (left > 0) {
      const part = await this.read(Math.min(left, 1 << 20));
      if (part.length === 0) break;
      left -= part.length;
    }
    return n - left;
  }

  async close() {
    await this.it.return?.();
  }
}

function cString(buf, start, length) {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function tarNumber(buf, start, length) {
  const field = buf.subarray(start, start + length);
  if (field[0] & 0x80) {
    // GNU base-256 (big files); positive values only
    let v = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
    return v;
  }
  const text = cString(field, 0, field.length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`bad octal number '${text}' in a tar header`);
  return parseInt(text, 8);
}

function checksumOk(header) {
  let stored;
  try {
    stored = tarNumber(header, 148, 8);
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === stored;
}

function paxPath(data) {
  let path = null;
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('utf8'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8'); // drop trailing \n
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    pos += len;
  }
  return path;
}

/**
 * Streams the entries of a tar byte stream. For each entry `want({ name, type, size })` decides
 * whether its data is read (returned as `data`) or skipped. Types: '0' file, '5' directory, ...
 */
export async function* tarEntries(byteStream, want = () => true) {
  const reader = new ChunkReader(byteStream);
  let longName = null;
  let paxName = null;
  try {
    for (;;) {
      const header = await reader.read(512);
      if (header.length === 0) return; // end of stream without end blocks: tolerated
      if (header.length < 512) throw new Error('the tar archive is truncated (partial header)');
      if (header.every((b) => b === 0)) return; // end-of-archive marker
      if (!checksumOk(header)) throw new Error('bad tar header checksum (not a tar archive, or corrupt)');
      const size = tarNumber(header, 124, 12);
      const typeByte = header[156];
      const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
      const magic = cString(header, 257, 6);
      const prefix = magic === 'ustar' ? cString(header, 345, 155) : '';
      let name = cString(header, 0, 100);
      if (prefix !== '') name = `${prefix}/${name}`;
      const padded = Math.ceil(size / 512) * 512;

      if (type === 'L' || type === 'x') {
        const data = await reader.read(padded);
        if (data.length < padded) throw new Error('the tar archive is truncated');
        if (type === 'L') longName = cString(data, 0, size);
        else paxName = paxPath(data.subarray(0, size)) ?? paxName;
        continue;
      }
      if (type === 'g' || type === 'K') {
        if ((await reader.skip(padded)) < padded) throw new Error('the tar archive is truncated');
        continue;
      }
      if (paxName !== null) name = paxName;
      else if (longName !== null) name = longName;
      paxName = null;
      longName = null;

      const entry = { name, type, size };
      if (want(entry)) {
        const data = await reader.read(padded);
        if (data.length < padded) throw new Error(`the tar archive is truncated (inside ${name})`);
        yield { ...entry, data: data.subarray(0, size) };
      } else {
        if ((await reader.skip(padded)) < padded) throw new Error(`the tar archive is truncated (inside ${name})`);
        yield entry;
      }
    }
  } finally {
    await reader.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Extraction

const LFW_NAME = /^(.+)_(\d{4})\.jpg$/;

/**
 * Extracts every `<Name>_<NNNN>.jpg` of an LFW archive (.tgz or plain .tar) flat into
 * `<outDir>/images`. Returns [{ file, identity }] sorted by file. The identity is the name of the
 * folder holding the image (the file name without `_NNNN.jpg` when there is none). Other entries
 * are ignored; a JPEG-named entry that is not a JPEG is skipped with a warning; the same file
 * name in two places is an error.
 */
export async function extractLfwArchive(archivePath, outDir, { warn = (m) => console.warn(m), onProgress } = {}) {
  const imagesDir = join(outDir, 'images');
  await fsp.mkdir(imagesDir, { recursive: true });
  const head = Buffer.alloc(2);
  let fd;
  try {
    fd = await fsp.open(archivePath, 'r');
    await fd.read(head, 0, 2, 0);
  } catch (err) {
    throw new Error(`cannot read archive ${archivePath}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err });
  } finally {
    await fd?.close();
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const source = createReadStream(archivePath);
  const stream = gz ? createGunzip() : source;
  if (gz) {
    source.on('error', (err) => stream.destroy(err));
    source.pipe(stream);
  }

  const found = new Map();
  try {
    for await (const entry of tarEntries(stream, (e) => (e.type === '0' || e.type === '7') && LFW_NAME.test(basename(e.name)))) {
      if (entry.data === undefined) continue;
      const file = basename(entry.name);
      const parts = entry.name.split('/').filter((p) => p !== '' && p !== '.');
      const folder = parts.length >= 2 ? parts[parts.length - 2] : null;
      const identity = folder !== null && file.startsWith(`${folder}_`) ? folder : LFW_NAME.exec(file)[1];
      if (basename(file).startsWith('._')) continue; // macOS resource forks
      if (entry.data.length < 3 || entry.data[0] !== 0xff || entry.data[1] !== 0xd8 || entry.data[2] !== 0xff) {
        warn(`warning: ${entry.name} in ${archivePath} is not a JPEG; skipped`);
        continue;
      }
      if (found.has(file)) throw new Error(`${archivePath} holds ${file} twice (${found.get(file).entry} and ${entry.name})`);
      const dest = join(imagesDir, file);
      const tmp = `${dest}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, entry.data);
      await fsp.rename(tmp, dest);
      found.set(file, { identity, entry: entry.name });
      onProgress?.(found.size);
    }
  } catch (err) {
    throw new Error(`cannot extract ${archivePath}: ${err.message}`, { cause: err });
  } finally {
    source.destroy();
    if (gz) stream.destroy();
  }
  if (found.size === 0) throw new Error(`${archivePath} holds no LFW images (<Name>_<NNNN>.jpg)`);
  return [...found.entries()].map(([file, v]) => ({ file, identity: v.identity })).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Lists and manifest

/** people.txt (or peopleDevTrain.txt): Map name -> image count. */
export function parsePeople(text) {
  const people = new Map();
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 2 && /^\d+$/.test(f[1])) people.set(f[0], (people.get(f[0]) ?? 0) + Number(f[1]));
  }
  return people;
}

/** pairs.txt (or pairsDevTrain/Test.txt): [{ a, b, same }] as file names. */
export function parsePairs(text) {
  const file = (name, n) => `${name}_${String(Number(n)).padStart(4, '0')}.jpg`;
  const pairs = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2])) pairs.push({ a: file(f[0], f[1]), b: file(f[0], f[2]), same: 1 });
    else if (f.length === 4 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[3])) pairs.push({ a: file(f[0], f[1]), b: file(f[2], f[3]), same: 0 });
  }
  return pairs;
}

function csvField(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** manifest.csv text: header `file,identity,split`, rows sorted by file. */
export function manifestText(entries, seed = DEFAULT_SEED, devFraction = DEFAULT_DEV_FRACTION) {
  const rows = [...entries].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const lines = rows.map((e) => [e.file, e.identity, assignSplit(e.identity, seed, devFraction)].map(csvField).join(','));
  return `${MANIFEST_HEADER}\n${lines.join('\n')}\n`;
}

async function writeAtomic(path, text, force) {
  if (!force && existsSync(path)) throw new Error(`${path} already exists; pass --force to replace it`);
  const tmp = `${path}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, path);
}

// ---------------------------------------------------------------------------------------------
// Download

async function download(url, dest, what) {
  if (existsSync(dest)) return dest;
  await fsp.mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const controller = new AbortController();
  let stall = setTimeout(() => controller.abort(new Error('no data for 60 s')), 60_000);
  try {
    const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length')) || 0;
    let got = 0;
    let lastReport = 0;
    const body = Readable.fromWeb(res.body);
    body.on('data', (chunk) => {
      got += chunk.length;
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(new Error('no data for 60 s')), 60_000);
      if (got - lastReport > 8 << 20) {
        lastReport = got;
        process.stderr.write(`  ${what}: ${(got / 2 ** 20).toFixed(0)} MiB${total ? ` of ${(total / 2 ** 20).toFixed(0)} MiB` : ''}\r`);
      }
    });
    await pipeline(body, createWriteStream(part));
    if (total && got !== total) throw new Error(`got ${got} of ${total} bytes`);
    await fsp.rename(part, dest);
    return dest;
  } catch (err) {
    await fsp.rm(part, { force: true });
    const cause = err?.cause ? `: ${err.cause.code ?? err.cause.message ?? err.cause}` : '';
    throw new DownloadError(`could not download ${what} from ${url}: ${err.message}${cause}`);
  } finally {
    clearTimeout(stall);
  }
}

class DownloadError extends Error {}

// ---------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const opts = { out: 'datasets/lfw', lists: true, seed: DEFAULT_SEED, devFraction: DEFAULT_DEV_FRACTION, force: false, url: ARCHIVE_URL, listsUrl: LISTS_URL };
  const valueOf = (i, flag) => {
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--out': opts.out = valueOf(i++, a); break;
      case '--archive': opts.archive = valueOf(i++, a); break;
      case '--people': opts.people = valueOf(i++, a); break;
      case '--pairs': opts.pairs = valueOf(i++, a); break;
      case '--no-lists': opts.lists = false; break;
      case '--url': opts.url = valueOf(i++, a); break;
      case '--lists-url': opts.listsUrl = valueOf(i++, a); break;
      case '--seed': opts.seed = valueOf(i++, a); break;
      case '--dev-fraction': {
        const v = Number(valueOf(i++, a));
        if (!(v >= 0 && v <= 1)) throw new Error(`--dev-fraction must be a number in [0, 1]`);
        opts.devFraction = v;
        break;
      }
      case '--force': opts.force = true; break;
      case '-h':
      case '--help': opts.help = true; break;
      default: throw new Error(`unknown argument ${a} (see --help)`);
    }
  }
  return opts;
}

export async function main(argv = process.argv.slice(2)) {
  const opts = parseArgs(argv);
  if (opts.help) {
    const text = await fsp.readFile(fileURLToPath(import.meta.url), 'utf8');
    console.log(text.slice(text.indexOf('/**') + 3, text.indexOf('*/')).replace(/^ \* ?/gm, ''));
    return;
  }
  const out = resolve(opts.out);
  await fsp.mkdir(out, { recursive: true });
  await fsp.writeFile(join(out, '.gitignore'), '# Downloaded data: never commit it.\n*\n');
  const manifestPath = join(out, 'manifest.csv');
  if (!opts.force && existsSync(manifestPath)) throw new Error(`${manifestPath} already exists; pass --force to rebuild it`);
  const downloads = join(out, 'downloads');

  let archive = opts.archive;
  if (archive === undefined) {
    console.error(`downloading ${opts.url} (about 100 MiB) ...`);
    try {
      archive = await download(opts.url, join(downloads, basename(new URL(opts.url).pathname) || 'lfw-deepfunneled.tgz'), 'the LFW archive');
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      throw new Error(
        `${err.message}\n` +
          `This machine may have no network access, or the site may be down. Download lfw-deepfunneled.tgz\n` +
          `by hand (from ${opts.url} or a mirror you trust), then run:\n` +
          `  node datasets/fetch-lfw.mjs --out ${opts.out} --archive path/to/lfw-deepfunneled.tgz [--no-lists]`,
      );
    }
  }

  const readList = async (local, name) => {
    if (local !== undefined) return fsp.readFile(local, 'utf8');
    if (!opts.lists) return null;
    try {
      return await fsp.readFile(await download(new URL(name, opts.listsUrl).href, join(downloads, name), name), 'utf8');
    } catch (err) {
      console.error(`warning: ${err.message}; going on without ${name} (pass --${name.replace('.txt', '')} PATH or --no-lists)`);
      return null;
    }
  };
  const peopleText = await readList(opts.people, 'people.txt');
  const pairsText = await readList(opts.pairs, 'pairs.txt');

  console.error(`extracting ${archive} into ${join(out, 'images')} ...`);
  const entries = await extractLfwArchive(resolve(archive), out, {
    onProgress: (n) => n % 2000 === 0 && process.stderr.write(`  ${n} images\r`),
  });
  const identities = new Set(entries.map((e) => e.identity));

  if (peopleText !== null) {
    const people = parsePeople(peopleText);
    const counts = new Map();
    for (const e of entries) counts.set(e.identity, (counts.get(e.identity) ?? 0) + 1);
    const off = [...people].filter(([name, n]) => counts.get(name) !== n);
    const expected = [...people.values()].reduce((a, b) => a + b, 0);
    if (off.length > 0) {
      console.error(`warning: ${off.length} people in people.txt have a different image count in the archive (e.g. ${off.slice(0, 3).map(([n, c]) => `${n}: ${c} listed, ${counts.get(n) ?? 0} found`).join('; ')})`);
    } else {
      console.error(`checked against people.txt: ${people.size} people, ${expected} images`);
    }
  }

  const manifest = manifestText(entries, opts.seed, opts.devFraction);
  if (pairsText !== null) {
    const have = new Set(entries.map((e) => e.file));
    const pairs = parsePairs(pairsText);
    const usable = pairs.filter((p) => have.has(p.a) && have.has(p.b));
    if (usable.length < pairs.length) console.error(`warning: ${pairs.length - usable.length} of ${pairs.length} pairs name images not in the archive; left out`);
    const text = `a,b,same\n${usable.map((p) => `${csvField(p.a)},${csvField(p.b)},${p.same}`).join('\n')}\n`;
    await writeAtomic(join(out, 'pairs.csv'), text, true);
  }
  await writeAtomic(manifestPath, manifest, opts.force);

  const dev = manifest.split('\n').filter((l) => l.endsWith(',dev')).length;
  console.log(
    `LFW ready in ${out}: ${entries.length} images of ${identities.size} people; ` +
      `split by identity (seed "${opts.seed}", dev fraction ${opts.devFraction}): ${entries.length - dev} train, ${dev} dev images` +
      (pairsText !== null ? '; pairs.csv written' : ''),
  );
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((err) => {
    console.error(`fetch-lfw: ${err.message}`);
    process.exit(1);
  });
}
