#!/usr/bin/env node
// The `pulse` command: runs the TypeScript CLI through tsx's loader (no build step).
import { spawn } from 'node:child_process';
import { register } from 'tsx/esm/api';

register();
const { tunedMallocEnv } = await import('../src/backend/malloc-env.ts');
let env;
try {
  env = tunedMallocEnv(process.env);
} catch (error) {
  console.error(`error: ${error.message}`);
  process.exit(2);
}
if (env) {
  // glibc reads its allocator tunables only at start-up, so the CLI runs in a child that has
  // them (src/backend/malloc-env.ts; PULSE_MALLOC=system runs it here, as it is).
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  const forward = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    if (signal) {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
