/**
 * Progress bars on stderr (stdout stays clean for --json output). Falls back to one line
 * per update every few seconds when stderr is not a terminal (CI logs, notebooks).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * `format` uses cli-progress placeholders: {bar} {value} {total} {eta_formatted} and any
 * field passed to update().
 */
export function createProgress(label: string, total: number, format: string, quiet = false): Progress {
  if (quiet) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(value, fields = {}) {
        const now = Date.now();
        if (value < total && now - last < 5000) return;
        last = now;
        let line = format.replace('{bar}', '').replace('{value}', String(value)).replace('{total}', String(total));
        for (const [k, v] of Object.entries(fields)) line = line.replaceAll(`{${k}}`, String(v));
        process.stderr.write(`${label} ${line.replace(/\{eta_formatted\}/g, '').trim()}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} ${format}`, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update(value, fields) {
      bar.update(value, fields);
    },
    stop() {
      bar.stop();
    },
  };
}
