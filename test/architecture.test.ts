/**
 * The dependency rule of src/ (docs/architecture.md): folders form layers, and a file may import
 * only from its own layer or a lower one, and no two folders may import each other. Imports are
 * read with TypeScript's own pre-processor (static, `export ... from`, and dynamic `import()`),
 * so a type-only import counts like any other.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, lowest first. A folder may import its own layer and those below it; peers
 * in one layer may import one another in one direction only. docs/architecture.md shows this
 * table (a test below keeps the two equal).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['io', 'plot', 'run-store'],
  ['backend'],
  ['stylegan'],
  ['pulse'],
  ['model'],
  ['align', 'data', 'metrics', 'parity'],
  ['eval'],
  ['train'],
  ['experiments', 'benchmark', 'speed'],
  ['notebook', 'web', 'site'],
  ['cli'],
];

interface ImportEdge {
  /** The importing file, relative to the repository root with forward slashes. */
  readonly file: string;
  /** 1-based line of the import. */
  readonly line: number;
  /** The import specifier as written. */
  readonly specifier: string;
  readonly fromFolder: string;
  readonly toFolder: string;
}

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const ROOT = resolve(SRC, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder under src/ of an absolute path, or null outside src/. */
function folderOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : '';
}

/** Every relative import in src/**.ts that crosses from one folder into another. */
function crossFolderImports(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const path of sourceFiles(SRC)) {
    const text = readFileSync(path, 'utf8');
    const fromFolder = folderOf(path)!;
    for (const imp of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const toFolder = folderOf(resolve(dirname(path), imp.fileName));
      if (toFolder === null || toFolder === fromFolder) continue;
      const line = text.slice(0, imp.pos).split('\n').length;
      edges.push({ file: relative(ROOT, path).split(sep).join('/'), line, specifier: imp.fileName, fromFolder, toFolder });
    }
  }
  return edges;
}

/** The rule's violations, one sentence each naming the file, line and import. */
function layerViolations(edges: readonly ImportEdge[], layers: readonly (readonly string[])[]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((folders, i) => folders.forEach((f) => rank.set(f, i)));
  const problems: string[] = [];
  const at = (e: ImportEdge) => `${e.file}:${e.line} imports '${e.specifier}'`;
  for (const e of edges) {
    const from = rank.get(e.fromFolder);
    const to = rank.get(e.toFolder);
    if (from === undefined) problems.push(`${at(e)}: src/${e.fromFolder} is in no layer; add it to LAYERS and docs/architecture.md`);
    else if (to === undefined) problems.push(`${at(e)}: src/${e.toFolder} is in no layer; add it to LAYERS and docs/architecture.md`);
    else if (to > from) problems.push(`${at(e)}: ${e.fromFolder} (layer ${from}) must not import ${e.toFolder} (layer ${to}); move the shared piece down`);
  }
  const pairs = new Map<string, ImportEdge>();
  for (const e of edges) if (!pairs.has(`${e.fromFolder}>${e.toFolder}`)) pairs.set(`${e.fromFolder}>${e.toFolder}`, e);
  for (const e of pairs.values()) {
    const back = pairs.get(`${e.toFolder}>${e.fromFolder}`);
    if (back && e.fromFolder < e.toFolder) problems.push(`${e.fromFolder} and ${e.toFolder} import each other: ${at(e)} and ${at(back)}`);
  }
  return problems;
}

describe('architecture: arrows point down', () => {
  it('every import in src/ stays in its layer or goes down, and no two folders import each other', () => {
    const edges = crossFolderImports();
    expect(edges.length).toBeGreaterThan(100);
    expect(layerViolations(edges, LAYERS)).toEqual([]);
  });

  it('every folder of src/ is in the table, once', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const listed = LAYERS.flat();
    expect(new Set(listed).size).toBe(listed.length);
    expect(folders.filter((f) => !listed.includes(f))).toEqual([]);
  });

  it('docs/architecture.md shows the same table', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d+) \| ([a-z, -]+) \|/gm)].map((m) => ({ layer: Number(m[1]), folders: m[2].split(',').map((f) => f.trim()) }));
    expect(rows).toEqual(LAYERS.map((folders, layer) => ({ layer, folders: [...folders] })));
  });

  it('names a climbing import and a pair of folders that import each other', () => {
    const edge = (file: string, fromFolder: string, toFolder: string): ImportEdge => ({ file, line: 3, specifier: `../${toFolder}/x.js`, fromFolder, toFolder });
    const layers = [['util'], ['pulse', 'model'], ['cli']];
    expect(layerViolations([edge('src/util/a.ts', 'util', 'cli')], layers)).toEqual([
      "src/util/a.ts:3 imports '../cli/x.js': util (layer 0) must not import cli (layer 2); move the shared piece down",
    ]);
    expect(layerViolations([edge('src/pulse/w.ts', 'pulse', 'model'), edge('src/model/m.ts', 'model', 'pulse')], layers)).toEqual([
      "model and pulse import each other: src/model/m.ts:3 imports '../pulse/x.js' and src/pulse/w.ts:3 imports '../model/x.js'",
    ]);
    expect(layerViolations([edge('src/new/a.ts', 'new', 'util')], layers)[0]).toContain('src/new is in no layer');
    expect(layerViolations([edge('src/cli/a.ts', 'cli', 'util'), edge('src/model/m.ts', 'model', 'pulse')], layers)).toEqual([]);
  });
});
