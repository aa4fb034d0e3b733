/** Where panel i of a plotly subplot grid goes: its axis names and its box in paper coordinates. */
export interface GridCell {
  /** Trace axis references ('x', 'x2', ...) and layout keys ('xaxis', 'xaxis2', ...). */
  readonly xName: string;
  readonly yName: string;
  readonly xKey: string;
  readonly yKey: string;
  /** Left edge and top edge of the panel (paper coordinates, 0..1). */
  readonly x0: number;
  readonly y1: number;
}

export function gridCell(i: number, cols: number, w: number, h: number, gapX: number, gapY: number): GridCell {
  const n = i + 1;
  const col = i % cols;
  const row = Math.floor(i / cols);
  return {
    xName: n === 1 ? 'x' : `x${n}`,
    yName: n === 1 ? 'y' : `y${n}`,
    xKey: n === 1 ? 'xaxis' : `xaxis${n}`,
    yKey: n === 1 ? 'yaxis' : `yaxis${n}`,
    x0: col * (w + gapX),
    y1: 1 - row * (h + gapY),
  };
}
