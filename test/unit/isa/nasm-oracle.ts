// Runs the real NASM / ndisasm (the oracles of issue 3) on generated sources and parses the listing, so
// the ISA tests compare against the tools themselves and cannot drift. Missing tools fail loudly.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function requireTool(tool: string): void {
  try {
    execFileSync(tool, ['-v'], { stdio: 'pipe' });
  } catch {
    throw new Error(`${tool} is required by the ISA tests (Debian package 'nasm'; CI installs it via .ci/run)`);
  }
}

export interface AssembledLine {
  /** 1-based source line. */
  readonly line: number;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface NasmRun {
  /** The output image (rebuilt from the listing when NASM rejected some lines). */
  readonly binary: Uint8Array;
  /** Listing entries by source line (only lines that produced bytes). */
  readonly lines: ReadonlyMap<number, AssembledLine>;
  readonly errors: string;
}

/** Assembles `source` with `nasm -f bin -l`; lines that NASM rejects are simply absent from `lines`. */
export function assembleWithNasm(source: string): NasmRun {
  requireTool('nasm');
  const dir = mkdtempSync(join(tmpdir(), 'hyperstep-isa-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    let errors = '';
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'out.bin'), '-l', join(dir, 'out.lst'), join(dir, 'in.asm')],
        { stdio: 'pipe' });
    } catch (error) {
      errors = String((error as { stderr?: Buffer }).stderr ?? error);
    }
    const lines = new Map<number, { line: number; offset: number; hex: string }>();
    let listing = '';
    try { listing = readFileSync(join(dir, 'out.lst'), 'latin1'); } catch { listing = ''; }
    for (const text of listing.split('\n')) {
      // Relocated or label-based fields are bracketed: `05[00000000]`, `E8(FCFFFFFF)`.
      const match = /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F[\]()]+)-?(\s|$)/.exec(text);
      if (match === null) continue;
      const line = Number(match[1]);
      const hex = (match[3] as string).replace(/[[\]()]/g, '');
      const entry = lines.get(line);
      if (entry === undefined) lines.set(line, { line, offset: parseInt(match[2] as string, 16), hex });
      else entry.hex += hex;
    }
    let binary = new Uint8Array(0);
    try { binary = new Uint8Array(readFileSync(join(dir, 'out.bin'))); } catch { binary = new Uint8Array(0); }
    const parsed = new Map<number, AssembledLine>();
    for (const { line, offset, hex } of lines.values()) {
      parsed.set(line, { line, offset, bytes: Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16)) });
    }
    if (binary.length === 0 && parsed.size > 0) {
      // NASM writes no output file when any line has an error: rebuild the image from the listing.
      let size = 0;
      for (const entry of parsed.values()) size = Math.max(size, entry.offset + entry.bytes.length);
      binary = new Uint8Array(size);
      for (const entry of parsed.values()) binary.set(entry.bytes, entry.offset);
    }
    return { binary, lines: parsed, errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface NdisasmLine {
  readonly offset: number;
  readonly hex: string;
  readonly text: string;
}

/** Disassembles `bytes` with `ndisasm -b32`, joining ndisasm's continuation lines. */
export function disassembleWithNdisasm(bytes: Uint8Array): NdisasmLine[] {
  requireTool('ndisasm');
  const dir = mkdtempSync(join(tmpdir(), 'hyperstep-ndisasm-'));
  try {
    writeFileSync(join(dir, 'in.bin'), bytes);
    const output = execFileSync('ndisasm', ['-b32', join(dir, 'in.bin')], { stdio: 'pipe', maxBuffer: 1 << 28 }).toString('latin1');
    const result: { offset: number; hex: string; text: string }[] = [];
    for (const text of output.split('\n')) {
      const full = /^([0-9A-F]{8})\s+([0-9A-F]+)\s+(.*)$/.exec(text);
      if (full !== null) {
        result.push({ offset: parseInt(full[1] as string, 16), hex: full[2] as string, text: (full[3] as string).trim() });
        continue;
      }
      const continuation = /^\s+-([0-9A-F]+)\s*$/.exec(text);
      const last = result[result.length - 1];
      if (continuation !== null && last !== undefined) last.hex += continuation[1];
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
