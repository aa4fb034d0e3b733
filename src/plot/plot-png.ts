/**
 * A PNG of a plot's static SVG (plot-svg.ts), for the front ends that will not show SVG.
 *
 * Jupyter Notebook and JupyterLab render `image/svg+xml` only in a trusted notebook, and
 * Jupyter trusts a notebook only where it was run or signed by the same user: a notebook from
 * a repository is untrusted on every other machine, so its SVG plots show as their text line.
 * `image/png` is shown whether trusted or not, so every plot output carries one.
 *
 * sharp draws the SVG with librsvg: the same picture, with text set in the machine's fonts
 * through fontconfig (plotly asks for "Open Sans", verdana, arial, then sans-serif). It draws
 * at `scale` times the SVG's size, default 1: plotly's own JupyterLab renderer, which shows a
 * bundle's PNG until the mouse comes over the plot, shows it at its pixel size and ignores the
 * display size in the output's metadata, so a 2x PNG would appear twice as large there. A
 * palette PNG (libimagequant, at most 256 colours) is about a third of a full-colour one, and a
 * plot has few colours besides the anti-aliasing of its lines and text.
 */
import sharp from 'sharp';

export interface PlotPngOptions {
  /** Pixels per SVG pixel (default 1; from 0.25 to 8). */
  readonly scale?: number;
}

export interface PlotPng {
  readonly png: Buffer;
  /** Display size in CSS pixels: the SVG's own width and height. */
  readonly width: number;
  readonly height: number;
}

export const DEFAULT_PLOT_PNG_SCALE = 1;

/** SVG user units per inch in librsvg (sharp's `density` is in dots per inch). */
const SVG_DPI = 72;

/** Renders an SVG document (a string starting with `<svg`, or an XML declaration) to a PNG. */
export async function svgToPng(svg: string, options: PlotPngOptions = {}): Promise<PlotPng> {
  const scale = options.scale ?? DEFAULT_PLOT_PNG_SCALE;
  if (!(Number.isFinite(scale) && scale >= 0.25 && scale <= 8)) {
    throw new Error(`svgToPng: scale ${scale} is out of range; use a number from 0.25 to 8 (default ${DEFAULT_PLOT_PNG_SCALE})`);
  }
  if (typeof svg !== 'string' || !/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg)) {
    const start = typeof svg === 'string' ? JSON.stringify(svg.slice(0, 40)) : typeof svg;
    throw new Error(`svgToPng: expected an SVG document (starting with "<svg"), got ${start}`);
  }
  const input = Buffer.from(svg, 'utf8');
  const size = await sharp(input).metadata();
  if (!size.width || !size.height) throw new Error('svgToPng: the SVG has no size (width and height attributes)');
  const png = await sharp(input, { density: SVG_DPI * scale })
    .png({ palette: true, compressionLevel: 9, effort: 10 })
    .toBuffer();
  return { png, width: size.width, height: size.height };
}
