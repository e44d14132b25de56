// NASM-style listing (`-l file`, NASM manual 2.1.3): per source line its number, the offset, the bytes
// in hex (reserved space as ??), and the text; long output continues on lines marked with a `-` suffix.
// Lines that come from an %include or a macro expansion carry NASM's `<1>` nesting mark; a `times`
// statement shows one repetition followed by `<rep N>` (N in hex), reserved space `<res N>`.
import type { Assembler } from './assembler';

const BYTES_PER_LINE = 9;

export function buildListing(asm: Assembler, lineNumbers: readonly number[], mainFile: string): string {
  const out: string[] = [];
  const bySatement = new Map<number, { section: number; offset: number; size: number; reserved: boolean }[]>();
  for (const e of asm.emitted) {
    let list = bySatement.get(e.statement);
    if (!list) bySatement.set(e.statement, (list = []));
    list.push(e);
  }
  asm.statements.forEach((stmt, k) => {
    const nested = stmt.line.origin.expansion || stmt.line.origin.file !== mainFile ? '<1> ' : '';
    const text = stmt.line.written ?? stmt.line.text;
    const number = String(lineNumbers[k] ?? stmt.line.origin.expansion?.line ?? stmt.line.origin.line).padStart(6, ' ');
    const ranges = bySatement.get(k);
    if (!ranges) {
      out.push(`${number}${' '.repeat(30)}${nested || '    '}${text}`);
      return;
    }
    let first = true;
    for (const r of ranges) {
      const section = asm.sections[r.section]!;
      if (r.reserved && r.size > BYTES_PER_LINE) {
        // NASM lists large reservations as <res N> rather than a page of ?? bytes.
        const offset = r.offset.toString(16).toUpperCase().padStart(8, '0');
        out.push(`${number} ${offset} ${`<res ${r.size.toString(16).toUpperCase()}h>`.padEnd(20, ' ')}${first && nested ? '<1> ' : '    '}${first ? text : ''}`);
        first = false;
        continue;
      }
      const repeat = r.reserved ? undefined : asm.timesRepeats.get(k);
      const repeated = repeat !== undefined && repeat.count > 1 && repeat.size > 0 && repeat.size <= r.size;
      const shown = repeated ? repeat.size : r.size;
      let hex = '';
      const chunks: string[] = [];
      for (let b = 0; b < shown; b++) {
        hex += r.reserved ? '??' : section.bytes[r.offset + b]!.toString(16).toUpperCase().padStart(2, '0');
        if ((b + 1) % BYTES_PER_LINE === 0 && b + 1 < shown) {
          chunks.push(hex);
          hex = '';
        }
      }
      chunks.push(repeated ? `${hex}<rep ${repeat.count.toString(16).toUpperCase()}h>` : hex);
      chunks.forEach((chunk, c) => {
        const offset = (r.offset + c * BYTES_PER_LINE).toString(16).toUpperCase().padStart(8, '0');
        const more = c < chunks.length - 1 ? '-' : ' ';
        out.push(`${number} ${offset} ${(chunk + more).padEnd(20, ' ')}${first && nested ? '<1> ' : '    '}${first ? text : ''}`);
        first = false;
      });
    }
  });
  return out.join('\n') + (out.length ? '\n' : '');
}
