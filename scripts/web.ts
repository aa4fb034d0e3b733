/**
 * npm run web        builds the site into dist/web and serves it on localhost (cross-origin isolated)
 * npm run web:build  only builds it (a static folder anyone can host)
 * Options: --out DIR (default dist/web), --port N (default 8080).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, buildSite } from '../src/site/build.js';
import { serveSite } from '../src/site/serve.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, port: { type: 'string' } },
});
const command = positionals[0] ?? 'serve';
if (command !== 'serve' && command !== 'build') {
  console.error(`unknown command "${command}": use "build" or "serve"`);
  process.exit(2);
}
const outDir = values.out ?? join(REPO_ROOT, 'dist', 'web');
const port = Number(values.port ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${values.port} is not a port number (0-65535)`);
  process.exit(2);
}
const { bundleBytes } = await buildSite({ outDir });
console.log(`built ${outDir} (bundle ${(bundleBytes / 1e6).toFixed(1)} MB)`);
if (command === 'serve') {
  const { url } = await serveSite(outDir, port);
  console.log(`serving at ${url} (cross-origin isolated; Ctrl-C stops)`);
}
