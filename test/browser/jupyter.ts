/**
 * A Jupyter server for browser tests, as a new user would meet the notebooks: started on a
 * free local port with no token or password, and with fresh, empty Jupyter folders (data,
 * config, runtime, JupyterLab settings and workspaces), so no notebook is trusted (Jupyter
 * keeps its signatures in the data folder) and no user setting applies.
 *
 * The notebooks are served from a mirror of this checkout in a temporary folder: every
 * top-level entry is a symbolic link except `notebooks/`, which holds copies, so a notebook
 * finds `../src` and `node_modules` as in the checkout while a run or a save in the browser
 * can never change a committed file. The tslab kernel is this checkout's (a kernel spec in the
 * temporary JUPYTER_PATH, as scripts/run-notebooks.sh does).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Frontend = 'notebook' | 'lab';

export interface JupyterServer {
  readonly frontend: Frontend;
  readonly url: string;
  /** The mirror's notebooks folder (copies of the notebooks given to `startJupyter`). */
  readonly notebookDir: string;
  /** Everything the server printed (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly frontend: Frontend;
  /** The checkout whose src, node_modules and tslab the kernel uses. */
  readonly repo: string;
  /** Notebook files to copy into the mirror's notebooks folder. */
  readonly notebooks: readonly string[];
  /** Extra environment for the server and its kernels. */
  readonly env?: Readonly<Record<string, string>>;
  /** Seconds to wait for the server to answer (default 120). */
  readonly startTimeoutS?: number;
}

/** Python with Jupyter Notebook (classic UI), as scripts/setup-notebooks.sh --ui sets up; null without one. */
export function notebookPython(): string | null {
  for (const candidate of [process.env.PULSE_JUPYTER_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['-c', 'import notebook'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return null;
}

/** `jupyter-lab` of the environment scripts/setup-notebooks.sh --lab makes; null without it. */
export function jupyterLabCommand(repo: string): string | null {
  const venv = process.env.PULSE_JUPYTERLAB_VENV ?? join(repo, '.cache', 'jupyterlab-venv');
  const command = join(venv, 'bin', 'jupyter-lab');
  return existsSync(command) ? command : null;
}

/** A TCP port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function makeMirror(root: string, repo: string, notebooks: readonly string[]): string {
  const mirror = join(root, 'checkout');
  mkdirSync(mirror);
  for (const entry of readdirSync(repo)) {
    if (entry !== 'notebooks' && entry !== '.git') symlinkSync(join(repo, entry), join(mirror, entry));
  }
  const dir = join(mirror, 'notebooks');
  mkdirSync(dir);
  for (const file of notebooks) copyFileSync(file, join(dir, file.split('/').pop()!));
  return dir;
}

function freshJupyterEnv(root: string, repo: string): Record<string, string> {
  const dirs = { data: 'data', config: 'config', runtime: 'runtime', path: 'path', settings: 'lab-settings', workspaces: 'lab-workspaces' };
  for (const d of Object.values(dirs)) mkdirSync(join(root, d), { recursive: true });
  const kernel = join(root, dirs.path, 'kernels', 'tslab');
  mkdirSync(kernel, { recursive: true });
  const tslab = join(repo, 'node_modules', '.bin', 'tslab');
  writeFileSync(
    join(kernel, 'kernel.json'),
    JSON.stringify({ argv: [tslab, 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript' }),
  );
  // JupyterLab renders every cell (no windowing), so outputs far down a notebook are in the page.
  const tracker = join(root, dirs.settings, '@jupyterlab', 'notebook-extension');
  mkdirSync(tracker, { recursive: true });
  writeFileSync(join(tracker, 'tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
  return {
    JUPYTER_DATA_DIR: join(root, dirs.data),
    JUPYTER_CONFIG_DIR: join(root, dirs.config),
    JUPYTER_RUNTIME_DIR: join(root, dirs.runtime),
    JUPYTER_PATH: join(root, dirs.path),
    JUPYTERLAB_SETTINGS_DIR: join(root, dirs.settings),
    JUPYTERLAB_WORKSPACES_DIR: join(root, dirs.workspaces),
    JUPYTER_PLATFORM_DIRS: '1',
  };
}

/** Ids of this user's processes whose command line contains `text` (Linux /proc; none elsewhere). */
function processesMentioning(text: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Starts Jupyter Notebook or JupyterLab (see the file comment); throws with its log if it does not come up. */
export async function startJupyter(options: StartOptions): Promise<JupyterServer> {
  const root = mkdtempSync(join(tmpdir(), `pulse-jupyter-${options.frontend}-`));
  const notebookDir = makeMirror(root, options.repo, options.notebooks);
  const port = await freePort();
  const common = ['--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0'];
  // Jupyter refuses to run as root without it (CI machines and containers run as root).
  if (process.getuid?.() === 0) common.push('--allow-root');
  let command: string;
  let args: string[];
  if (options.frontend === 'notebook') {
    const python = notebookPython();
    if (!python) throw new Error('no Python with Jupyter Notebook; run bash scripts/setup-notebooks.sh --ui');
    command = python;
    args = ['-m', 'notebook', ...common, '--NotebookApp.token=', '--NotebookApp.password=', `--notebook-dir=${notebookDir}`];
  } else {
    const lab = jupyterLabCommand(options.repo);
    if (!lab) throw new Error('no JupyterLab; run bash scripts/setup-notebooks.sh --lab');
    command = lab;
    args = [
      ...common,
      '--IdentityProvider.token=',
      '--ServerApp.password=',
      `--ServerApp.root_dir=${notebookDir}`,
      '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    ];
  }
  let output = '';
  const child: ChildProcess = spawn(command, args, {
    cwd: notebookDir,
    env: { ...process.env, ...freshJupyterEnv(root, options.repo), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: stop() ends the server and the kernels it started, and nothing else.
    detached: true,
  });
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    // JupyterLab's server starts each kernel in a session of its own, out of the group above;
    // a kernel it did not shut down in time is found by its connection file in our folder.
    for (const pid of processesMentioning(join(root, 'runtime'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutS ?? 120) * 1000;
  while (!(await answers(`${url}/api`))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${options.frontend} server did not start on ${url}:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { frontend: options.frontend, url, notebookDir, log: () => output, stop };
}
