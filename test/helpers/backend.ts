/**
 * Test backend: PULSE_TEST_BACKEND (or PULSE_BACKEND) picks it, default 'auto' (native
 * where built, else wasm). The parity suite runs every case on both explicitly.
 */
import { initBackend, type BackendInfo } from '../../src/backend/select.js';

export async function useTestBackend(): Promise<BackendInfo> {
  return initBackend(process.env.PULSE_TEST_BACKEND ?? process.env.PULSE_BACKEND ?? 'auto');
}
