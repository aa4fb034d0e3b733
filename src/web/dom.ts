/** Small DOM helpers for the page: typed element lookup, messages, and a fingerprint of numbers. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return element as T;
}

/** Shows a message above the page's sections; errors are styled as such. The page keeps working. */
export function showMessage(text: string, kind: 'notice' | 'error' = 'notice'): void {
  const box = document.createElement('p');
  box.className = `message ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = text;
  byId('messages').append(box);
}

export function clearMessages(): void {
  byId('messages').replaceChildren();
}

/** FNV-1a over the float32 bytes: equal only for bitwise-equal arrays (for the determinism test). */
export function fingerprint(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** "1m 05s" / "12.3 s". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m}m ${String(Math.round(seconds - 60 * m)).padStart(2, '0')}s`;
}
