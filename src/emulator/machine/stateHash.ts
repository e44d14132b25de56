// A fast, dependency-free 64-bit hash (two independent 32-bit FNV-1a lanes) over byte arrays, used to
// compare whole-machine states in determinism tests. Not cryptographic; collisions are merely unlikely.

export function hashBytes(parts: readonly Uint8Array[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const byte = part[i];
      a = Math.imul(a ^ byte, 0x01000193);
      b = Math.imul(b ^ byte, 0x5bd1e995) ^ (b >>> 15);
    }
    a = Math.imul(a ^ part.length, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The UTF-16 code units of a string as bytes (enough for hashing JSON; no TextEncoder in pure ES2022). */
export function stringBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes[2 * i] = c & 0xff;
    bytes[2 * i + 1] = c >>> 8;
  }
  return bytes;
}
