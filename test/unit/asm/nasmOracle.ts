// Test helper: runs the real NASM (the byte-exact oracle) and HyperStep's assembler on the same source,
// with the host file system injected. Fails loudly when nasm is not installed (CI installs it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assemble, AssemblyResult } from '../../../src/emulator/asm';

export const REPO_ROOT = resolve(__dirname, '../../..');

let nasmChecked = false;
export function requireNasm(): void {
  if (nasmChecked) return;
  const probe = spawnSync('nasm', ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('nasm is required for the assembler tests (apt-get install nasm; .ci/run installs it) but was not found on PATH');
  }
  nasmChecked = true;
}

export interface NasmRun {
  readonly status: number;
  readonly output: Uint8Array | undefined;
  readonly stderr: string;
  readonly listing: string;
}

/** Assembles `file` (path relative to the repo root) with nasm. */
export function runNasm(file: string, format: 'bin' | 'elf32', args: readonly string[] = []): NasmRun {
  requireNasm();
  const dir = mkdtempSync(join(tmpdir(), 'hs-nasm-'));
  try {
    const out = join(dir, 'out');
    const lst = join(dir, 'out.lst');
    const r = spawnSync('nasm', ['-f', format, '-o', out, '-l', lst, ...args, file], { cwd: REPO_ROOT, encoding: 'utf8' });
    return {
      status: r.status ?? -1,
      output: existsSync(out) ? new Uint8Array(readFileSync(out)) : undefined,
      stderr: r.stderr,
      listing: existsSync(lst) ? readFileSync(lst, 'utf8') : '',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads files relative to the repo root, as the CLI does relative to its working directory. */
export function hostReadFile(path: string): string | undefined {
  const full = resolve(REPO_ROOT, path);
  try {
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** Parses `-Idir` and `-Dname=value` the way the CLI does. */
export function runOurs(file: string, format: 'bin' | 'elf32', args: readonly string[] = []): AssemblyResult {
  const includePaths: string[] = [];
  const defines: Record<string, string> = {};
  for (const a of args) {
    if (a.startsWith('-I')) includePaths.push(a.slice(2).replace(/\/$/, ''));
    else if (a.startsWith('-D')) {
      const [name, value] = a.slice(2).split('=');
      defines[name!] = value ?? '';
    }
  }
  return assemble({ path: file, text: hostReadFile(file) ?? '' }, { format, includePaths, defines, readFile: hostReadFile });
}

/** First differing byte, for readable assertion messages. */
export function firstDifference(a: Uint8Array, b: Uint8Array): string | undefined {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    if (a[k] !== b[k]) return `offset 0x${k.toString(16)}: nasm 0x${a[k]!.toString(16)} vs ours 0x${b[k]!.toString(16)}`;
  }
  return a.length !== b.length ? `length: nasm ${a.length} vs ours ${b.length}` : undefined;
}
