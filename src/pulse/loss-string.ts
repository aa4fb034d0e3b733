/**
 * The loss-string grammar of the official code: `w*TERM+w*TERM...`, e.g. "100*L2+0.05*GEOCROSS".
 * Unlike the official parser, anything it cannot read is an error that names the piece.
 */
export const LOSS_TERMS = ['L2', 'L1', 'GEOCROSS'] as const;
export type LossTerm = (typeof LOSS_TERMS)[number];

export interface WeightedTerm {
  readonly weight: number;
  readonly term: LossTerm;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseLossString(text: string): WeightedTerm[] {
  const src = text.replace(/\s+/g, '');
  if (src === '') throw new Error(`loss string is empty; expected e.g. "100*L2+0.05*GEOCROSS"`);
  const seen = new Set<LossTerm>();
  return src.split('+').map((piece, k) => {
    const parts = piece.split('*');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new Error(
        `loss string "${text}": term ${k + 1} "${piece}" is not of the form WEIGHT*TERM (e.g. "100*L2+0.05*GEOCROSS")`,
      );
    }
    const [w, name] = parts;
    if (!NUMBER.test(w)) throw new Error(`loss string "${text}": weight "${w}" of term ${k + 1} is not a number`);
    const term = name.toUpperCase() as LossTerm;
    if (!LOSS_TERMS.includes(term)) {
      throw new Error(`loss string "${text}": unknown loss term "${name}"; known terms: ${LOSS_TERMS.join(', ')}`);
    }
    if (seen.has(term)) throw new Error(`loss string "${text}": term ${term} appears twice`);
    seen.add(term);
    return { weight: Number(w), term };
  });
}

export function formatLossString(terms: readonly WeightedTerm[]): string {
  return terms.map((t) => `${t.weight}*${t.term}`).join('+');
}
