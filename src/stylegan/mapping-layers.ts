/** The official `G_mapping`'s dense layers (`dense0` .. `denseN-1`), built from the config. */
import type { MappingConfig } from './config.js';
import { EqualizedDense } from './modules/equalized-dense.js';
import type { ParamDecl } from './param-decl.js';

export function mappingLayers(cfg: MappingConfig): EqualizedDense[] {
  return Array.from(
    { length: cfg.numLayers },
    (_, i) => new EqualizedDense(`dense${i}`, i === 0 ? cfg.latentSize : cfg.dlatentSize, cfg.dlatentSize, { gain: Math.SQRT2, lrMul: cfg.lrMul, leakyRelu: true }),
  );
}

/** Every parameter of the mapping network, in official state-dict order. */
export function mappingParams(cfg: MappingConfig): ParamDecl[] {
  return mappingLayers(cfg).flatMap((l) => l.params);
}
