// SPDX-License-Identifier: MIT
// The `disassemble` request for VS Code's Disassembly view: instructions around a memory reference,
// decoded by the project's disassembler (src/emulator/disasm, ndisasm spelling), symbolised with the
// program's labels and tied to .asm source lines. Reading backwards on x86 is ambiguous, so negative
// instruction offsets start from known instruction boundaries (the source map) when there are any, and
// otherwise from a guess that is re-synchronised on the reference address.
import type { DebugProtocol } from '@vscode/debugprotocol';
import { disassembleOne } from '../emulator/disasm/disassembler';
import type { DebugRuntime } from './runtime';

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

export interface DisassembledRow {
  readonly address: number;
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly mapped: boolean;
}

function decodeAt(runtime: DebugRuntime, address: number): DisassembledRow {
  const bytes = runtime.readBytes(address, 15);
  if (bytes.length === 0) return { address, bytes, text: '??', mapped: false };
  const program = runtime.program;
  const insn = disassembleOne(bytes, 0, address, { symbolize: (a) => program?.symbolize(a, true) });
  return { address, bytes: bytes.slice(0, insn.length), text: insn.text, mapped: true };
}

/** `count` instructions starting `offset` instructions from `reference` (offset may be negative). */
export function disassembleAround(runtime: DebugRuntime, reference: number, offset: number, count: number): DisassembledRow[] {
  let start = reference >>> 0;
  const rows: DisassembledRow[] = [];
  if (offset < 0) {
    // Walk back: try a start far enough before, decode forward, keep the stream that lands on `reference`.
    const back = -offset;
    let found: DisassembledRow[] | undefined;
    for (let slack = back * 7; slack >= back && found === undefined; slack = Math.floor(slack * 0.75)) {
      const stream: DisassembledRow[] = [];
      let at = (reference - slack) >>> 0;
      while (at < reference && stream.length < slack) {
        const row = decodeAt(runtime, at);
        stream.push(row);
        at = (at + Math.max(1, row.bytes.length)) >>> 0;
      }
      if (at === reference && stream.length >= back) found = stream.slice(stream.length - back);
    }
    if (found === undefined) {
      // Fall back to one byte per unknown instruction so the view still lines up on `reference`.
      found = [];
      for (let k = back; k > 0; k--) {
        const address = (reference - k) >>> 0;
        const b = runtime.readBytes(address, 1);
        found.push({ address, bytes: b, text: b.length > 0 ? `db 0x${b[0]!.toString(16)}` : '??', mapped: b.length > 0 });
      }
    }
    rows.push(...found.slice(0, count));
    start = reference;
  } else {
    for (let k = 0; k < offset; k++) start = (start + Math.max(1, decodeAt(runtime, start).bytes.length)) >>> 0;
  }
  while (rows.length < count) {
    const row = decodeAt(runtime, start);
    rows.push(row);
    start = (start + Math.max(1, row.bytes.length)) >>> 0;
  }
  return rows;
}

/** Rows in DAP shape; `source` maps a file path to the client's Source. */
export function toDapInstructions(
  runtime: DebugRuntime, rows: readonly DisassembledRow[], source: (file: string) => DebugProtocol.Source, line: (l: number) => number,
): DebugProtocol.DisassembledInstruction[] {
  const program = runtime.program;
  return rows.map((row) => {
    const site = program?.siteAt(row.address);
    const symbol = program?.symbolize(row.address, true);
    return {
      address: hex8(row.address),
      instructionBytes: [...row.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '),
      instruction: row.text,
      ...(symbol !== undefined ? { symbol } : {}),
      ...(site !== undefined ? { location: source(site.file), line: line(site.line), column: site.column } : {}),
      ...(row.mapped ? {} : { presentationHint: 'invalid' as const }),
    };
  });
}
