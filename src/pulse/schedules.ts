/**
 * Learning-rate schedules of the official code, as multipliers of the base rate at step
 * x of `steps` (torch LambdaLR: step 0 uses f(0)).
 */
export const SCHEDULE_NAMES = ['fixed', 'linear1cycle', 'linear1cycledrop'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export function scheduleFactor(name: ScheduleName, x: number, steps: number): number {
  switch (name) {
    case 'fixed':
      return 1;
    case 'linear1cycle':
      return (9 * (1 - Math.abs(x / steps - 1 / 2) * 2) + 1) / 10;
    case 'linear1cycledrop':
      return x < 0.9 * steps
        ? (9 * (1 - Math.abs(x / (0.9 * steps) - 1 / 2) * 2) + 1) / 10
        : 1 / 10 + ((x - 0.9 * steps) / (0.1 * steps)) * (1 / 1000 - 1 / 10);
    default:
      throw new Error(`unknown lr schedule "${String(name)}"; choose one of: ${SCHEDULE_NAMES.join(', ')}`);
  }
}
