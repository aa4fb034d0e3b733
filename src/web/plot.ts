/** The live convergence plot: each solution's downscaled MSE per step against eps (log scale). */
import Plotly from 'plotly.js-dist-min';
import type { PulseStep } from '../pulse/run.js';

export function drawConvergence(element: HTMLElement, trace: readonly PulseStep[], eps: number, steps: number): void {
  const solutions = trace[0]?.mse.length ?? 0;
  const x = trace.map((s) => s.step + 1);
  const lines = Array.from({ length: solutions }, (_, k) => ({
    x,
    y: trace.map((s) => s.mse[k]),
    mode: 'lines',
    name: `solution ${k + 1}`,
  }));
  const epsLine = { x: [1, steps], y: [eps, eps], mode: 'lines', name: 'eps', line: { dash: 'dash', color: '#444' } };
  void Plotly.react(element, [...lines, epsLine], {
    margin: { l: 60, r: 10, t: 10, b: 40 },
    xaxis: { title: { text: 'step' }, range: [1, steps] },
    yaxis: { title: { text: 'L2 of the downscaled image' }, type: 'log' },
    height: 260,
    showlegend: true,
  }, { displayModeBar: false, staticPlot: false });
}
