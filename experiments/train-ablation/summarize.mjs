// The ablation table (markdown on stdout) from each variant's eval.json and log.jsonl.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const f3 = (x) => (typeof x === 'number' ? x.toFixed(3) : '-');
const rows = [];
for (const v of readdirSync(root).sort()) {
  const evalPath = join(root, v, 'eval.json');
  const logPath = join(root, v, 'log.jsonl');
  if (!existsSync(evalPath) || !existsSync(logPath)) continue;
  const e = JSON.parse(readFileSync(evalPath, 'utf8'));
  const log = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cfg = JSON.parse(readFileSync(join(root, v, 'checkpoint', 'model.json'), 'utf8')).metadata.config;
  const last = log.at(-1);
  // D's mean logits on reals and fakes: over the first 250 steps (where v1's D ran away) and the last 100.
  const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
  const early = log.filter((l) => l.step <= 250);
  const late = log.filter((l) => l.step > last.step - 100);
  const ips = log.filter((l) => l.imagesPerSecond).map((l) => l.imagesPerSecond).sort((a, b) => a - b);
  const id = e.identity;
  rows.push(
    `| ${v} | ${cfg.augment} | ${cfg.r1Gamma} | ${cfg.fmapBase} | ${last.images.toLocaleString('en-US')} | ` +
      `${f3(mean(early, 'realScore'))} / ${f3(mean(early, 'fakeScore'))} | ${f3(mean(late, 'realScore'))} / ${f3(mean(late, 'fakeScore'))} | ` +
      `${e.detection.detected}/${e.detection.samples} | ${f3(id.frechet.distance)} (${f3(id.floor.distance)}) | ` +
      `${f3(id.diversity.generated)} / ${f3(id.diversity.real)} = ${f3(id.diversity.ratio)} | ${ips[ips.length >> 1].toFixed(1)} |`,
  );
}
console.log(
  [
    '| variant | augment | R1 gamma | fmap_base | images | D logits real / fake, steps 1-250 | same, last 100 steps | face found | descriptor Frechet (floor) | diversity samples / real = ratio | img/s (median, machine shared) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
