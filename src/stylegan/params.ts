/**
 * The parameter names and shapes of the official PyTorch modules (as their layers declare
 * them), so that a checkpoint is checked tensor by tensor before anything is built from it.
 */
import { type StateDict, shapeString } from '../io/state-dict.js';
import { type MappingConfig, type SynthesisConfig, DEFAULT_MAPPING_CONFIG, featureMaps } from './config.js';
import { mappingParams } from './mapping-layers.js';
import type { ParamDecl } from './param-decl.js';
import { synthesisParams } from './synthesis-layers.js';

export type ParamSpec = Map<string, readonly number[]>;

/** Name -> PyTorch shape of declared parameters, in their order. */
export function paramSpecOf(params: readonly ParamDecl[]): ParamSpec {
  return new Map(params.map((p) => [p.name, p.shape]));
}

/** Every tensor of the official `G_synthesis` state_dict, in its order. */
export function synthesisParamSpec(cfg: SynthesisConfig): ParamSpec {
  return paramSpecOf(synthesisParams(cfg));
}

export function mappingParamSpec(cfg: MappingConfig = DEFAULT_MAPPING_CONFIG): ParamSpec {
  return paramSpecOf(mappingParams(cfg));
}

/**
 * Checks a state dict against a spec: every missing, unexpected or mis-shaped tensor is
 * listed in one error (naming the source, the tensor and both shapes).
 */
export function validateStateDict(sd: StateDict, spec: ParamSpec, source: string): void {
  const problems: string[] = [];
  for (const [name, shape] of spec) {
    const t = sd.get(name);
    if (!t) problems.push(`missing tensor '${name}' (expected shape ${shapeString(shape)})`);
    else if (t.shape.length !== shape.length || t.shape.some((v, k) => v !== shape[k])) {
      problems.push(`tensor '${name}' has shape ${shapeString(t.shape)}, expected ${shapeString(shape)}`);
    }
  }
  for (const [name, t] of sd) {
    if (!spec.has(name)) problems.push(`unexpected tensor '${name}' (shape ${shapeString(t.shape)})`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).join('\n  ');
    const more = problems.length > 12 ? `\n  ... and ${problems.length - 12} more` : '';
    throw new Error(`${source} does not match the model architecture:\n  ${shown}${more}`);
  }
}

/**
 * Reads the architecture off a synthesis state dict (resolution from the block names,
 * widths from the shapes, skip outputs from a lower block's toRGB such as `torgb.4x4.weight`),
 * so official checkpoints of any size load without flags.
 */
export function inferSynthesisConfig(sd: StateDict, source: string): SynthesisConfig {
  const sides: number[] = [];
  for (const name of sd.keys()) {
    const m = /^blocks\.(\d+)x\1\./.exec(name);
    if (m) sides.push(Number(m[1]));
  }
  const constT = sd.get('blocks.4x4.const');
  const torgb = sd.get('torgb.weight');
  const style = sd.get('blocks.4x4.epi1.style_mod.lin.weight');
  if (sides.length === 0 || !constT || !torgb || !style) {
    throw new Error(
      `${source} is not a StyleGAN synthesis network: expected tensors 'blocks.4x4.const', 'torgb.weight' and 'blocks.4x4.epi1.style_mod.lin.weight'`,
    );
  }
  const resolution = Math.max(...sides);
  const top = Math.round(Math.log2(resolution));
  const widths: number[] = [];
  for (let res = 2; res <= top; res++) {
    const s = 2 ** res;
    const t = sd.get(res === 2 ? 'blocks.4x4.const' : `blocks.${s}x${s}.conv1.weight`);
    if (!t) throw new Error(`${source}: missing tensor for block ${s}x${s}`);
    widths.push(t.shape[res === 2 ? 1 : 0]);
  }
  const fmapMax = Math.max(...widths);
  // widths[i] = nf(i+1); the first stage below fmapMax pins fmapBase (decay 1).
  let fmapBase = fmapMax * 2 ** widths.length;
  const firstBelow = widths.findIndex((w) => w < fmapMax);
  if (firstBelow >= 0) fmapBase = widths[firstBelow] * 2 ** (firstBelow + 1);
  const cfg: SynthesisConfig = {
    resolution,
    fmapBase,
    fmapDecay: 1,
    fmapMax,
    dlatentSize: style.shape[1],
    numChannels: torgb.shape[0],
    // Only a skip network says so, so an official network's config stays as it always was.
    ...([...sd.keys()].some((name) => /^torgb\.\d+x\d+\./.test(name)) ? { architecture: 'skip' as const } : {}),
  };
  // Confirm the guess reproduces every width; otherwise the shapes are not StyleGAN's rule.
  widths.forEach((w, i) => {
    if (featureMaps(cfg, i + 1) !== w) {
      throw new Error(`${source}: block widths ${widths.join(',')} do not follow StyleGAN's nf() rule`);
    }
  });
  return cfg;
}
