/**
 * The program-wide `--backend` option. Commander gives a program-level option its value wherever
 * it is written (`pulse --backend wasm demo` and `pulse demo --backend wasm` alike), so commands
 * declare none of their own; each reads it with `backendRequest` and passes it to initBackend.
 */
import type { Command } from 'commander';

export const BACKEND_FLAG_DESCRIPTION = 'compute backend: auto, tensorflow-gpu, tensorflow, wasm, cpu (default: $PULSE_BACKEND or auto)';

/** Declares --backend on the program (every command's help lists it among the global options). */
export function addBackendOption(program: Command): Command {
  return program.option('--backend <name>', BACKEND_FLAG_DESCRIPTION).configureHelp({ showGlobalOptions: true });
}

/** The --backend given to `cmd` or the program above it; undefined leaves the choice to $PULSE_BACKEND or auto. */
export function backendRequest(cmd: Command): string | undefined {
  const value: unknown = cmd.optsWithGlobals().backend;
  return typeof value === 'string' ? value : undefined;
}
