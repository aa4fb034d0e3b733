#!/usr/bin/env node
// Rewrites absolute paths inside the checkout (and beside it, ../shared) as paths relative to the
// checkout in the given result files, so that committed results name no machine's folders
// (src/util/repo-root.ts portablePath does the same for what the code writes itself). Run from the
// repository root: node scripts/portable-paths.mjs FILE...
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const root = process.cwd();
const up = dirname(root);
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  const out = text.split(`${root}/`).join('').split(`"${root}"`).join('"."').split(`${up}/`).join('../');
  if (out !== text) writeFileSync(file, out);
}
