// Data declarations in a pass (db/dw/dd/dq/dt and friends, NASM manual 3.2.1): strings and float
// constants come pre-encoded from the parser; integers are evaluated, checked against NASM's overflow
// warning, and label-based values in elf32 become relocations (NASM manual 7.9).
import type { Assembler } from './assembler';
import { LineOrigin } from './diagnostics';
import { AsmError, evaluateBig, needsBigInt, Value } from './expressions';
import { Body } from './parser';

export function emitData(asm: Assembler, body: Extract<Body, { k: 'data' }>, origin: LineOrigin): void {
  if (!asm.outputAllowed(origin, body.start, body.end)) return;
  const unit = body.unit;
  for (const item of body.items) {
    if (item.k === 'bytes') {
      if (item.warning !== undefined && asm.pass === 1) asm.warning(origin, item.start, item.end, item.warning);
      asm.current.writeBytes(item.bytes);
      const pad = (unit - (item.bytes.length % unit)) % unit;
      if (pad > 0) asm.current.fill(pad, 0);
      continue;
    }
    if (item.k === 'uninit') {
      if (asm.current.progbits && asm.pass === 1) asm.warning(origin, item.start, item.end, `uninitialized space declared in non-BSS section \`${asm.current.name}': zeroing [-w+zeroing]`);
      asm.current.fill(unit, 0);
      continue;
    }
    if (unit === 8 && needsBigInt(item.expr)) {
      try {
        const exact = BigInt.asUintN(64, evaluateBig(item.expr, asm.passContext));
        asm.current.writeInteger(Number(exact & 0xffffffffn), 4);
        asm.current.writeInteger(Number(exact >> 32n), 4);
      } catch (e) {
        if (!(e instanceof AsmError)) throw e;
        asm.error(origin, e.start, e.end, e.message);
        asm.current.fill(8, 0);
      }
      continue;
    }
    const v = asm.evaluate(item.expr, origin) ?? { n: 0, base: 0, known: true };
    if (v.base !== 0) addRelocation(asm, v, asm.current.size, unit, false, origin, item.start, item.end);
    else if (unit <= 4 && v.known) checkOverflow(asm, v.n, unit, origin, item.start, item.end, 'data');
    if (unit > 8) {
      asm.current.writeInteger(v.n, 8);
      asm.current.fill(unit - 8, v.n < 0 ? 0xff : 0);
    } else asm.current.writeInteger(v.n, unit);
  }
}

/**
 * Records a relocation for a field (elf32); -f bin never has relocatable values. 8- and 16-bit fields get
 * R_386_8/R_386_16 without a warning: nasm 2.16.01 gives none, even with -w+gnu-elf-extensions.
 */
export function addRelocation(asm: Assembler, v: Value, offset: number, size: number, pcRelative: boolean, origin: LineOrigin, start: number, end: number): void {
  if (asm.format !== 'elf32') return;
  if (size !== 4 && size !== 2 && size !== 1) {
    asm.error(origin, start, end, `${size * 8}-bit relocations are not supported by elf32`);
    return;
  }
  asm.current.relocations.push({ offset, size: size as 1 | 2 | 4, pcRelative, base: v.base });
}

/** NASM's number-overflow warning: the value must fit the field as signed or unsigned. */
export function checkOverflow(asm: Assembler, n: number, size: number, origin: LineOrigin, start: number, end: number, what: 'data' | 'field'): void {
  const bits = size * 8;
  if (n >= -(2 ** (bits - 1)) && n < 2 ** bits) return;
  const name = size === 1 ? 'byte' : size === 2 ? 'word' : 'dword';
  asm.warning(origin, start, end, what === 'data' ? `${name} data exceeds bounds [-w+number-overflow]` : `${name} value exceeds bounds [-w+number-overflow]`);
}
