#!/usr/bin/env node
/**
 * Make the native TensorFlow backend (@tensorflow/tfjs-node) usable offline.
 *
 *   npm run build:native [-- --strict] [-- --force]
 *
 * tfjs-node's own install script downloads libtensorflow from Google storage, which has
 * no route from here, so npm drops the optional dependency. This script instead:
 *   1. unpacks @tensorflow/tfjs-node from the npm registry into node_modules, with the
 *      runtime dependencies package-lock.json records for it (no install scripts run);
 *   2. takes the TensorFlow C library from the `tensorflow-cpu` Python wheel
 *      (`pip download`, cached under .cache/tensorflow-cpu/);
 *   3. builds the N-API addon against it with node-pre-gyp/node-gyp;
 *   4. checks that `require('@tensorflow/tfjs-node')` works and runs a small conv.
 *
 * Best effort: on any failure it says why and that the wasm backend will be used, and
 * exits 0 (exit 1 with --strict). package.json and package-lock.json are never written.
 * --force rebuilds even when the backend already works.
 *
 * Environment: PULSE_PIP (pip command, default python3 -m pip / pip3 / pip), PULSE_TF_WHEEL
 * (a tensorflow-cpu wheel already on disk), PULSE_TF_WHEEL_SPEC (pip requirement, default
 * tensorflow-cpu==TF_WHEEL_VERSION, pinned).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TFJS_NODE = '@tensorflow/tfjs-node';
const TFJS_NODE_VERSION = '4.22.0';
/**
 * pip requirement for the wheel that carries the TensorFlow C library, pinned: the native
 * backend's numbers (docs/parity.md) were measured against this build. Override with
 * PULSE_TF_WHEEL_SPEC (then re-run `node scripts/parity-table.mjs` before quoting numbers).
 */
const TF_WHEEL_VERSION = '2.21.0';
const WHEEL_SPEC = process.env.PULSE_TF_WHEEL_SPEC || `tensorflow-cpu==${TF_WHEEL_VERSION}`;
/** What the addon's two .cc files include (found with `g++ -MM`), plus the rest of xla/tsl/platform. */
const HEADER_DIRS = ['tensorflow/c', 'tensorflow/core/platform', 'tsl', 'xla/tsl/c', 'xla/tsl/platform'];
const LIBS = { 'libtensorflow_cc.so.2': 'libtensorflow.so', 'libtensorflow_framework.so.2': 'libtensorflow_framework.so' };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const PKG_DIR = path.join(NODE_MODULES, ...TFJS_NODE.split('/'));
const CACHE_DIR = path.join(ROOT, '.cache', 'tensorflow-cpu');
const args = new Set(process.argv.slice(2));
const STRICT = args.has('--strict');
const FORCE = args.has('--force');
const t0 = Date.now();

class StepError extends Error {}

function log(msg) {
  console.log(`[build:native] ${msg}`);
}
function elapsed(since = t0) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Run a command; returns its result, throws StepError with the tail of its output on failure. */
function run(cmd, argv, { cwd = ROOT, env = process.env, quiet = true, timeout } = {}) {
  const res = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', stdio: quiet ? 'pipe' : 'inherit', timeout, maxBuffer: 64 << 20 });
  if (res.error) throw new StepError(`${cmd} ${argv.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) {
    const tail = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new StepError(`${cmd} ${argv.slice(0, 4).join(' ')}... exited ${res.status ?? res.signal}${tail ? `:\n${tail}` : ''}`);
  }
  return res;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function installedVersion(dir) {
  try {
    return readJson(path.join(dir, 'package.json')).version;
  } catch {
    return undefined;
  }
}

function sha512(file) {
  return `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

/**
 * Load tfjs-node in a child process, run a 3x3 conv 64->64 on 64x64, and report.
 * Returns { ok, detail }.
 */
function verify() {
  const probe = `
    const t = Date.now();
    const tf = require(${JSON.stringify(TFJS_NODE)});
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const loadMs = Date.now() - t;
    const x = tf.randomNormal([1, 64, 64, 64]), w = tf.randomNormal([3, 3, 64, 64]);
    // (dataSync outside tidy: inside tidy tfjs-node reads are ~100x slower)
    const once = () => { const y = tf.conv2d(x, w, 1, 'same'); y.dataSync(); y.dispose(); };
    once();
    const reps = 20, s = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) once();
    const sec = Number(process.hrtime.bigint() - s) / 1e9 / reps;
    const gflops = (2 * 64 * 64 * 64 * 64 * 9) / sec / 1e9;
    console.log('tfjs-node ' + tf.version['tfjs-node'] + ' on TensorFlow ' + tf.backend().binding.TF_Version + '; load ' + loadMs +
      ' ms; conv 3x3 64->64 on 64x64: ' + (sec * 1e3).toFixed(2) + ' ms (' + gflops.toFixed(0) + ' GFLOP/s)');
  `;
  const res = spawnSync(process.execPath, ['-e', probe], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
    timeout: 120_000,
  });
  if (res.status === 0) return { ok: true, detail: res.stdout.trim() };
  const out = `${res.stderr ?? ''}${res.stdout ?? ''}`.trim();
  const line = out.split('\n').find((l) => /Error|error:|cannot|Cannot/.test(l)) ?? out.split('\n').slice(-1)[0];
  return { ok: false, detail: (line ?? res.error?.message ?? `exit ${res.status}`).trim().slice(0, 400) };
}

/** npm pack SPECS into DIR; returns the tarball paths in order. */
function npmPack(specs, dir) {
  const res = run('npm', ['pack', ...specs, '--pack-destination', dir, '--json', '--silent', '--no-fund', '--no-audit'], {
    timeout: 300_000,
  });
  const packed = JSON.parse(res.stdout);
  return packed.map((p) => path.join(dir, p.filename));
}

function extractTarball(tgz, dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  run('tar', ['xzf', tgz, '-C', dest, '--strip-components=1', '--no-same-owner']);
}

/** Step 1a: node_modules/@tensorflow/tfjs-node itself. */
function ensurePackage(tmp, lock) {
  if (installedVersion(PKG_DIR) === TFJS_NODE_VERSION) {
    log(`${TFJS_NODE}@${TFJS_NODE_VERSION} is in node_modules`);
    return;
  }
  const s = Date.now();
  const [tgz] = npmPack([`${TFJS_NODE}@${TFJS_NODE_VERSION}`], tmp);
  const want = lock?.packages?.[`node_modules/${TFJS_NODE}`]?.integrity;
  if (want && want.startsWith('sha512-') && sha512(tgz) !== want) {
    throw new StepError(`${path.basename(tgz)} does not match the integrity in package-lock.json`);
  }
  extractTarball(tgz, PKG_DIR);
  log(`unpacked ${TFJS_NODE}@${TFJS_NODE_VERSION} (${elapsed(s)})`);
}

/** Where node would find NAME from lockfile path FROM (e.g. "node_modules/a/node_modules/b"). */
function resolveInLock(packages, from, name) {
  let dir = from;
  for (;;) {
    const cand = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[cand]) return cand;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('node_modules/');
    dir = i <= 0 ? '' : dir.slice(0, i - 1);
  }
}

/**
 * Step 1b: the runtime dependencies of tfjs-node, exactly as package-lock.json places them
 * (so a later `npm install` sees a tree that matches the lock and leaves it alone).
 * Falls back to a throw-away `npm install --ignore-scripts` when the lock has no entry.
 */
function ensureDependencies(tmp, lock) {
  const packages = lock?.packages ?? {};
  const start = `node_modules/${TFJS_NODE}`;
  const missing = [];
  const unresolved = [];
  if (packages[start]) {
    const seen = new Set();
    const queue = [start];
    while (queue.length) {
      const at = queue.shift();
      if (seen.has(at)) continue;
      seen.add(at);
      const entry = packages[at];
      const deps = { ...(entry.dependencies ?? {}), ...(entry.optionalDependencies ?? {}) };
      for (const name of Object.keys(deps)) {
        const where = resolveInLock(packages, at, name);
        if (!where) {
          unresolved.push(name);
          continue;
        }
        const e = packages[where];
        if (e.link) continue;
        if (where !== start && installedVersion(path.join(ROOT, where)) !== e.version) {
          missing.push({ where, name, version: e.version, integrity: e.integrity });
        }
        queue.push(where);
      }
    }
  } else {
    const own = readJson(path.join(PKG_DIR, 'package.json')).dependencies ?? {};
    const req = createRequire(path.join(PKG_DIR, 'package.json'));
    for (const name of Object.keys(own)) {
      try {
        req.resolve(`${name}/package.json`);
      } catch {
        unresolved.push(name);
      }
    }
  }

  const unique = [...new Map(missing.map((m) => [m.where, m])).values()];
  if (unique.length) {
    const s = Date.now();
    const dir = fs.mkdtempSync(path.join(tmp, 'deps-'));
    const tarballs = npmPack(
      unique.map((m) => `${m.name}@${m.version}`),
      dir,
    );
    unique.forEach((m, i) => {
      if (m.integrity?.startsWith('sha512-') && sha512(tarballs[i]) !== m.integrity) {
        throw new StepError(`${m.name}@${m.version} does not match the integrity in package-lock.json`);
      }
      extractTarball(tarballs[i], path.join(ROOT, m.where));
    });
    log(`unpacked ${unique.length} dependencies from package-lock.json (${elapsed(s)})`);
  }

  const stillMissing = [...new Set(unresolved)].filter((n) => !n.startsWith('@tensorflow/'));
  if (stillMissing.length) {
    // Not in the lock: install the exact ranges tfjs-node asks for into a scratch project and
    // nest them under tfjs-node/node_modules (never touching the project's own manifests).
    const s = Date.now();
    const own = readJson(path.join(PKG_DIR, 'package.json')).dependencies ?? {};
    const scratch = fs.mkdtempSync(path.join(tmp, 'scratch-'));
    fs.writeFileSync(
      path.join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, dependencies: Object.fromEntries(stillMissing.map((n) => [n, own[n]])) }),
    );
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--omit=dev', '--silent'], {
      cwd: scratch,
      timeout: 300_000,
    });
    const nested = path.join(PKG_DIR, 'node_modules');
    fs.mkdirSync(nested, { recursive: true });
    for (const name of fs.readdirSync(path.join(scratch, 'node_modules'))) {
      if (name.startsWith('.') || name === '@tensorflow') continue;
      fs.cpSync(path.join(scratch, 'node_modules', name), path.join(nested, name), { recursive: true, force: true });
    }
    log(`installed ${stillMissing.join(', ')} under ${path.relative(ROOT, nested)} (${elapsed(s)})`);
  }

  // tfjs-node must share the project's tfjs-core, or it would register its backend elsewhere.
  const req = createRequire(path.join(PKG_DIR, 'package.json'));
  const core = path.dirname(req.resolve('@tensorflow/tfjs-core/package.json'));
  const ours = path.join(NODE_MODULES, '@tensorflow', 'tfjs-core');
  if (fs.realpathSync(core) !== fs.realpathSync(ours)) {
    throw new StepError(`${TFJS_NODE} resolves a second copy of @tensorflow/tfjs-core at ${core}`);
  }
}

function pipCommand() {
  if (process.env.PULSE_PIP) {
    // e.g. PULSE_PIP="/usr/bin/python3 -m pip"
    const [cmd, ...pre] = process.env.PULSE_PIP.trim().split(/\s+/);
    return spawnSync(cmd, [...pre, '--version'], { stdio: 'ignore' }).status === 0 ? [cmd, pre] : undefined;
  }
  for (const [cmd, pre] of [
    ['python3', ['-m', 'pip']],
    ['pip3', []],
    ['pip', []],
  ]) {
    if (has(cmd) && spawnSync(cmd, [...pre, '--version'], { stdio: 'ignore' }).status === 0) return [cmd, pre];
  }
  return undefined;
}

function findCachedWheel() {
  if (!fs.existsSync(CACHE_DIR)) return undefined;
  const wheels = fs
    .readdirSync(CACHE_DIR)
    .filter((f) => /^tensorflow_cpu-.*\.whl$/.test(f))
    .sort();
  return wheels.length ? path.join(CACHE_DIR, wheels[wheels.length - 1]) : undefined;
}

/** Step 2: the tensorflow-cpu wheel, cached in .cache/tensorflow-cpu. */
function ensureWheel() {
  if (process.env.PULSE_TF_WHEEL) {
    if (!fs.existsSync(process.env.PULSE_TF_WHEEL)) throw new StepError(`PULSE_TF_WHEEL=${process.env.PULSE_TF_WHEEL} does not exist`);
    return process.env.PULSE_TF_WHEEL;
  }
  const cached = findCachedWheel();
  if (cached) {
    log(`using cached wheel ${path.relative(ROOT, cached)}`);
    return cached;
  }
  const pip = pipCommand();
  if (!pip) throw new StepError('pip is not installed, so the tensorflow-cpu wheel (the TensorFlow C library) cannot be fetched');
  const [cmd, pre] = pip;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const s = Date.now();
  const base = [...pre, 'download', WHEEL_SPEC, '--no-deps', '-d', CACHE_DIR, '--retries', '0', '--timeout', '3', '--disable-pip-version-check'];
  try {
    run(cmd, base, { timeout: 600_000 });
  } catch (err) {
    // The shared libraries do not depend on the Python version: accept a wheel built for another one.
    log(`pip download for this Python failed; trying a CPython 3.11 manylinux wheel`);
    try {
      run(cmd, [...base, '--only-binary=:all:', '--python-version', '3.11', '--platform', 'manylinux_2_27_x86_64', '--platform', 'manylinux2014_x86_64'], {
        timeout: 600_000,
      });
    } catch {
      throw err;
    }
  }
  const wheel = findCachedWheel();
  if (!wheel) throw new StepError(`pip download ${WHEEL_SPEC} produced no tensorflow_cpu wheel in ${CACHE_DIR}`);
  log(`downloaded ${path.basename(wheel)} (${(fs.statSync(wheel).size / 2 ** 20).toFixed(0)} MiB, ${elapsed(s)})`);
  return wheel;
}

/** Extract the members of ZIP selected by KEEP(name) into DEST, stripping STRIP from their names. */
async function unzipSelected(zip, keep, strip, dest, patterns) {
  if (has('unzip')) {
    const tmp = fs.mkdtempSync(path.join(dest, '.unzip-'));
    try {
      run('unzip', ['-q', '-o', zip, ...patterns, '-d', tmp], { timeout: 600_000 });
      for (const name of fs.readdirSync(path.join(tmp, strip))) {
        fs.rmSync(path.join(dest, name), { recursive: true, force: true });
        fs.renameSync(path.join(tmp, strip, name), path.join(dest, name));
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  // No unzip: fflate (a project dependency). Holds the selected members in memory (~0.9 GB).
  const { unzipSync } = await import('fflate');
  const files = unzipSync(fs.readFileSync(zip), { filter: (f) => keep(f.name) });
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    const out = path.join(dest, name.slice(strip.length + 1));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, data);
  }
}

/** Step 3a: TensorFlow libraries and headers into tfjs-node/deps/{lib,include}. */
async function stageLibtensorflow(wheel) {
  const deps = path.join(PKG_DIR, 'deps');
  const marker = path.join(deps, '.from-wheel');
  const stamp = `${path.basename(wheel)} ${fs.statSync(wheel).size}`;
  const libDir = path.join(deps, 'lib');
  const complete =
    fs.existsSync(marker) &&
    fs.readFileSync(marker, 'utf8') === stamp &&
    Object.keys(LIBS).every((f) => fs.existsSync(path.join(libDir, f))) &&
    fs.existsSync(path.join(deps, 'include', 'tensorflow', 'c', 'c_api.h'));
  if (complete) {
    log(`deps/ already staged from ${path.basename(wheel)}`);
    return;
  }
  const s = Date.now();
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(libDir, { recursive: true });
  fs.mkdirSync(path.join(deps, 'include'), { recursive: true });
  const libNames = Object.keys(LIBS).map((f) => `tensorflow/${f}`);
  await unzipSelected(wheel, (n) => libNames.includes(n), 'tensorflow', libDir, libNames);
  const incPrefixes = HEADER_DIRS.map((d) => `tensorflow/include/${d}/`);
  await unzipSelected(
    wheel,
    (n) => incPrefixes.some((p) => n.startsWith(p)),
    'tensorflow/include',
    path.join(deps, 'include'),
    incPrefixes.map((p) => `${p}*`),
  );
  for (const [real, link] of Object.entries(LIBS)) {
    if (!fs.existsSync(path.join(libDir, real))) throw new StepError(`${path.basename(wheel)} has no tensorflow/${real}`);
    fs.rmSync(path.join(libDir, link), { force: true });
    fs.symlinkSync(real, path.join(libDir, link));
  }
  if (!fs.existsSync(path.join(deps, 'include', 'tensorflow', 'c', 'eager', 'c_api.h'))) {
    throw new StepError(`${path.basename(wheel)} has no tensorflow/include/tensorflow/c/eager/c_api.h`);
  }
  fs.writeFileSync(marker, stamp);
  log(`staged libtensorflow and headers into ${path.relative(ROOT, deps)} (${elapsed(s)})`);
}

/** Step 3b: compile the addon with node-pre-gyp (which runs npm's bundled node-gyp). */
function buildAddon() {
  const s = Date.now();
  const req = createRequire(path.join(PKG_DIR, 'package.json'));
  const npgDir = path.dirname(req.resolve('@mapbox/node-pre-gyp/package.json'));
  const env = { ...process.env };
  // Use the Node headers that ship with this Node (e.g. /usr/include/node) instead of downloading them.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    env.npm_config_nodedir = prefix;
  }
  env.JOBS = env.JOBS ?? String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  const missingTools = ['make', 'g++', 'python3'].filter((t) => !has(t));
  if (missingTools.length) throw new StepError(`cannot compile the addon: ${missingTools.join(', ')} not found`);
  run(process.execPath, [path.join(npgDir, 'bin', 'node-pre-gyp'), 'install', '--build-from-source'], {
    cwd: PKG_DIR,
    env,
    timeout: 600_000,
  });
  log(`compiled the tfjs-node addon (${elapsed(s)})`);
}

async function main() {
  if (!FORCE) {
    const s = Date.now();
    const v = verify();
    if (v.ok) {
      log(`${TFJS_NODE} already works (${elapsed(s)}): ${v.detail}`);
      return 0;
    }
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new StepError(`offline build is only set up for linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const lockFile = path.join(ROOT, 'package-lock.json');
  const lock = fs.existsSync(lockFile) ? readJson(lockFile) : undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pulse-native-'));
  try {
    ensurePackage(tmp, lock);
    ensureDependencies(tmp, lock);
    const wheel = ensureWheel();
    await stageLibtensorflow(wheel);
    buildAddon();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const v = verify();
  if (!v.ok) throw new StepError(`the addon was built but does not load: ${v.detail}`);
  log(`done in ${elapsed()}: ${v.detail}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    const msg = err instanceof StepError ? err.message : err?.stack ?? String(err);
    console.error(`[build:native] native backend not built: ${msg}`);
    console.error(`[build:native] PULSE will use the wasm backend (@tensorflow/tfjs-backend-wasm) instead (${elapsed()}).`);
    process.exit(STRICT ? 1 : 0);
  },
);
