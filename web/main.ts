/**
 * The page (web/index.html): photo -> faces found and aligned (src/align) -> low-resolution input
 * -> PULSE (src/pulse/run.ts, the default model) with live progress -> solutions. Only the wiring
 * of the page lives here; every step is the project's code (src/web for the browser parts).
 */
import { alignFaces, bytesToImage } from '../src/align/align-face.js';
import { imageFromNhwc, type RgbImage } from '../src/io/rgb-image.js';
import type { PulseOptions } from '../src/pulse/options.js';
import type { PulseResult, PulseStep } from '../src/pulse/run.js';
import { backendOrder, setWasmBinaryUrl, startBackend } from '../src/web/backend.js';
import { displayCanvas, downloadLink } from '../src/web/canvas.js';
import { decodePhoto } from '../src/web/decode.js';
import { byId, clearMessages, fingerprint, formatSeconds, showMessage } from '../src/web/dom.js';
import { useBrowserFaceApi } from '../src/web/face-api.js';
import { checkTinyInput, downscaleFace, factorChoices, isTinyInput } from '../src/web/low-res.js';
import { buildFetchedModel, fetchModelFiles } from '../src/web/model-loader.js';
import { drawConvergence } from '../src/web/plot.js';
import { nextTask, runPulseJob, type PulseJobState } from '../src/web/pulse-job.js';
import { SETTING_PARAMS, pulseOptions, settingsFromUrl, settingsToUrl, type WebSettings } from '../src/web/settings.js';

const MODEL_URL = 'models/default/';
/** Current images are drawn every this many steps. */
const IMAGE_EVERY = 5;

const params = new URLSearchParams(location.search);
let job: PulseJobState | null = null;
/** The face PULSE will work on: aligned at the model's resolution, or a tiny input as it is. */
let face: { image: RgbImage; tiny: boolean } | null = null;
let lowRes: RgbImage | null = null;
let running: AbortController | null = null;
let runs = 0;

/** The advanced panel's inputs (the factor is a select chosen with the face): ids are the URL parameters. */
const SETTING_INPUTS = Object.fromEntries(Object.entries(SETTING_PARAMS).filter(([key]) => key !== 'factor')) as Record<Exclude<keyof WebSettings, 'factor'>, string>;

function readSettings(): WebSettings {
  const value = (id: string) => byId<HTMLInputElement>(id).value;
  return {
    steps: Number(value('steps')),
    learningRate: Number(value('lr')),
    eps: Number(value('eps')),
    loss: value('loss'),
    solutions: Number(value('solutions')),
    seed: Number(value('seed')),
    factor: Number(byId<HTMLSelectElement>('factor').value),
  };
}

function writeSettings(settings: WebSettings): void {
  for (const [key, id] of Object.entries(SETTING_INPUTS)) byId<HTMLInputElement>(id).value = String(settings[key as keyof WebSettings]);
}

function syncUrl(): void {
  const next = settingsToUrl(readSettings(), params);
  history.replaceState(null, '', `${location.pathname}${next.size ? `?${next}` : ''}`);
}

function setStatus(id: string, text: string): void {
  byId(id).textContent = text;
}

async function start(): Promise<void> {
  const { settings, problems } = settingsFromUrl(params);
  problems.forEach((p) => showMessage(p));
  setWasmBinaryUrl('tfjs-wasm/');
  useBrowserFaceApi('face-api/');
  const backend = await startBackend(backendOrder(params.get('backend')));
  if (backend.skipped.length) showMessage(`Skipped: ${backend.skipped.join('; ')}`);
  setStatus('backend', `Backend: ${backend.description}. Loading the model...`);
  const files = await fetchModelFiles(MODEL_URL);
  job = { backend, files, source: MODEL_URL, model: buildFetchedModel(files, MODEL_URL) };
  const resolution = job.model.synthesis.config.resolution;
  const select = byId<HTMLSelectElement>('factor');
  for (const f of factorChoices(resolution)) select.add(new Option(`${f}x (${resolution / f}x${resolution / f} px)`, String(f)));
  select.value = String(factorChoices(resolution).includes(settings.factor) ? settings.factor : 8);
  writeSettings(settings);
  for (const id of [...Object.values(SETTING_INPUTS), 'factor']) byId(id).addEventListener('change', syncUrl);
  select.addEventListener('change', updateLowRes);
  setStatus('backend', `Backend: ${backend.description}. Model: ${resolution} px.`);
  document.body.dataset.ready = 'true';
}

async function onPhoto(file: File): Promise<void> {
  if (!job || running) return;
  clearMessages();
  byId('faces').replaceChildren();
  for (const id of ['setup-section', 'progress-section', 'results-section']) byId(id).hidden = true;
  face = null;
  const resolution = job.model.synthesis.config.resolution;
  try {
    const { image, notices } = await decodePhoto(file, file.name);
    notices.forEach((n) => showMessage(n));
    if (isTinyInput(image, resolution)) {
      const factor = checkTinyInput(image, resolution, file.name);
      const select = byId<HTMLSelectElement>('factor');
      select.value = String(factor);
      select.disabled = true;
      face = { image, tiny: true };
      showMessage(`${file.name} is ${image.width}x${image.height}: used as the low-resolution face as it is (not aligned), factor ${factor}.`);
      updateLowRes();
      return;
    }
    byId<HTMLSelectElement>('factor').disabled = false;
    setStatus('backend', `Backend: ${job.backend.description}. Finding faces in ${file.name}...`);
    const faces = await alignFaces(image, { size: resolution }, file.name);
    setStatus('backend', `Backend: ${job.backend.description}. Model: ${resolution} px.`);
    if (faces.length === 0) {
      showMessage(`No face found in ${file.name}. Try a photo where a face is clearly visible and upright, or a tiny square face.`, 'error');
      return;
    }
    const list = byId('faces');
    faces.forEach((f, i) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'face';
      button.dataset.face = String(i);
      const figure = document.createElement('figure');
      const caption = document.createElement('figcaption');
      caption.textContent = `face ${i + 1} (score ${f.score.toFixed(2)})`;
      figure.append(displayCanvas(bytesToImage(f.bytes, f.size), 96, `aligned face ${i + 1}`), caption);
      button.append(figure);
      button.addEventListener('click', () => {
        list.querySelectorAll('.face').forEach((b) => b.classList.toggle('selected', b === button));
        face = { image: bytesToImage(f.bytes, f.size), tiny: false };
        updateLowRes();
      });
      list.append(button);
    });
    (list.firstElementChild as HTMLButtonElement).click();
    if (faces.length > 1) showMessage(`${faces.length} faces found; the first is selected, click another to use it.`);
  } catch (err) {
    showMessage(err instanceof Error ? err.message : String(err), 'error');
  }
}

function updateLowRes(): void {
  if (!face) return;
  const factor = Number(byId<HTMLSelectElement>('factor').value);
  lowRes = face.tiny ? face.image : downscaleFace(face.image, factor);
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.textContent = `input: ${lowRes.width}x${lowRes.height} px`;
  figure.append(displayCanvas(lowRes, 128, 'low-resolution input'), caption);
  byId('lowres').replaceChildren(figure);
  byId('setup-section').hidden = false;
  syncUrl();
}

function progressLine(step: PulseStep, steps: number, eps: number, elapsed: number): string {
  const best = Math.min(...step.mse);
  const worst = Math.max(...step.mse);
  const left = (elapsed / (step.step + 1)) * (steps - step.step - 1);
  const within = step.mse.filter((m) => m <= eps).length;
  return `step ${step.step + 1}/${steps} · L2 ${best.toExponential(2)}..${worst.toExponential(2)} vs eps ${eps.toExponential(1)} (${within}/${step.mse.length} within) · ${formatSeconds(elapsed)} elapsed, ~${formatSeconds(left)} left`;
}

function showCurrent(images: Float32Array, side: number, step: number): void {
  const n = images.length / (side * side * 3);
  const strip = byId('current');
  strip.replaceChildren(
    ...Array.from({ length: n }, (_, k) => {
      const figure = document.createElement('figure');
      const caption = document.createElement('figcaption');
      caption.textContent = `${k + 1} at step ${step + 1}`;
      figure.append(displayCanvas(imageFromNhwc(images, k, { width: side, height: side }), 96, `solution ${k + 1}, current`), caption);
      return figure;
    }),
  );
}

function meanSquared(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum / a.length;
}

function showResults(result: PulseResult, eps: number, input: RgbImage): void {
  const R = result.resolution;
  const r = result.lowResolution;
  const cards = result.seeds.map((seed, k) => {
    const hr = imageFromNhwc(result.images, k, { width: R, height: R });
    const check = imageFromNhwc(result.downscaled, k, { width: r, height: r });
    const finalL2 = meanSquared(check.data, input.data);
    const card = document.createElement('div');
    card.className = 'solution';
    card.dataset.solution = String(k);
    card.dataset.success = String(result.success[k]);
    card.dataset.minL2 = String(result.minMse[k]);
    card.dataset.finalL2 = String(finalL2);
    card.dataset.fingerprint = fingerprint(hr.data);
    const pair = document.createElement('div');
    pair.className = 'pair';
    pair.append(displayCanvas(hr, 160, `solution ${k + 1}`), displayCanvas(check, 64, `solution ${k + 1} downscaled`));
    const verdict = document.createElement('p');
    verdict.className = result.success[k] ? 'ok' : 'miss';
    verdict.textContent = `${result.success[k] ? 'within' : 'NOT within'} eps: best L2 ${result.minMse[k].toExponential(2)}, final ${finalL2.toExponential(2)} (eps ${eps.toExponential(1)})`;
    const meta = document.createElement('p');
    meta.textContent = `solution ${k + 1}, seed ${seed}`;
    card.append(pair, meta, verdict, downloadLink(hr, `pulse-seed${seed}.png`, 'Download PNG'));
    return card;
  });
  byId('results').replaceChildren(...cards);
  byId('results-section').hidden = false;
}

async function onRun(): Promise<void> {
  if (!job || !lowRes || running) return;
  clearMessages();
  let options: PulseOptions;
  try {
    options = pulseOptions(readSettings());
  } catch (err) {
    showMessage(`Settings: ${err instanceof Error ? err.message : String(err)}`, 'error');
    return;
  }
  const controller = new AbortController();
  running = controller;
  byId<HTMLButtonElement>('run').disabled = true;
  byId<HTMLButtonElement>('cancel').disabled = false;
  byId('progress-section').hidden = false;
  byId('results-section').hidden = true;
  byId('current').replaceChildren();
  document.body.dataset.running = 'true';
  const trace: PulseStep[] = [];
  /** Seconds since the start after each step, for scripts/web-bench.ts. */
  const stepSeconds: number[] = [];
  const input = lowRes;
  const failAt = params.get('fail-at-step');
  try {
    setStatus('progress', 'starting (the first step also compiles the backend kernels)...');
    await nextTask(); // paint before the first step, which can take a while
    const result = await runPulseJob(job, input, options, {
      signal: controller.signal,
      imageEvery: IMAGE_EVERY,
      failAtStep: failAt === null ? undefined : Number(failAt),
      onStep: (step, elapsed) => {
        trace.push(step);
        stepSeconds.push(elapsed);
        setStatus('progress', progressLine(step, options.steps, options.eps, elapsed));
        drawConvergence(byId('plot'), trace, options.eps, options.steps);
      },
      onImages: (step, images) => showCurrent(images, job!.model.synthesis.config.resolution, step),
      onFallback: (message, backend) => {
        trace.length = 0;
        stepSeconds.length = 0;
        showMessage(message, 'error');
        setStatus('backend', `Backend: ${backend.description}.`);
      },
    });
    setStatus('progress', `done: ${result.success.filter(Boolean).length}/${result.batch} within eps after ${options.steps} steps, ${formatSeconds(result.seconds)} on ${job.backend.name}`);
    showResults(result, options.eps, input);
    runs += 1;
    document.body.dataset.stepSeconds = JSON.stringify(stepSeconds);
    document.body.dataset.runs = String(runs);
  } catch (err) {
    if (controller.signal.aborted) showMessage(`Cancelled after step ${trace.length}.`);
    else showMessage(`PULSE failed: ${err instanceof Error ? err.message : String(err)}`, 'error');
  } finally {
    running = null;
    delete document.body.dataset.running;
    byId<HTMLButtonElement>('run').disabled = false;
    byId<HTMLButtonElement>('cancel').disabled = true;
  }
}

function wireInput(): void {
  const input = byId<HTMLInputElement>('file');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void onPhoto(file);
    input.value = '';
  });
  const drop = byId('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void onPhoto(file);
  });
  byId('run').addEventListener('click', () => void onRun());
  byId('cancel').addEventListener('click', () => running?.abort(new DOMException('cancelled by the user', 'AbortError')));
}

wireInput();
start().catch((err) => {
  setStatus('backend', 'The page could not start.');
  showMessage(err instanceof Error ? err.message : String(err), 'error');
});
