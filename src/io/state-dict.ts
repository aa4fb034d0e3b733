/**
 * A state dict: named float32 tensors in PyTorch's layout (row-major, official names).
 * Every checkpoint reader returns one; every model builder consumes one.
 */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
