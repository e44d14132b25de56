// Instruction decoding for the executor: fetches the instruction's bytes through paging (a fetch may #PF)
// and runs the shared decoder (src/emulator/isa/decoder.ts, driven by the one instruction table), then
// turns its DecodedInstruction into the executor's Insn record and picks the handler once. Faults of the
// decoder are data there and become guest exceptions here (#UD, #GP(0) beyond 15 bytes).

import { DecodedInstruction, DecodeFault, decodeInstruction, MAX_INSTRUCTION_LENGTH, Prefix } from '../isa/decoder';
import { INSTRUCTION_FORMS } from '../isa/table';
import type { Cpu } from './cpu';
import { handlerFor, nonRootHandler, undefinedOpcode } from './dispatch';
import { Vector } from './faults';
import type { Insn } from './insn';
import { SEG_RIGHTS, Seg, SegmentRight } from './stateLayout';

const bytes = new Uint8Array(MAX_INSTRUCTION_LENGTH);
const decoded = new DecodedInstruction();

/** Decode the instruction at `linear` into `insn`; returns the linear address of its last byte. */
export function decodeInto(cpu: Cpu, linear: number, insn: Insn): number {
  const code32 = (cpu.s[SEG_RIGHTS + Seg.CS]! & SegmentRight.Big) !== 0;
  // Bytes up to the end of this page first; the next page is touched only if the instruction needs it.
  const inPage = Math.min(MAX_INSTRUCTION_LENGTH, 0x1000 - (linear & 0xfff));
  for (let i = 0; i < inPage; i++) bytes[i] = cpu.fetchByte((linear + i) | 0);
  let available = inPage;
  decodeInstruction(bytes, 0, available, code32 ? 32 : 16, decoded);
  while (decoded.fault === DecodeFault.Truncated && available < MAX_INSTRUCTION_LENGTH) {
    bytes[available] = cpu.fetchByte((linear + available) | 0);
    available++;
    decodeInstruction(bytes, 0, available, code32 ? 32 : 16, decoded);
  }
  const d = decoded;
  insn.length = Math.max(d.length, 1);
  insn.formIndex = d.formIndex;
  insn.endsBlock = true;
  if (d.fault !== DecodeFault.None || d.formIndex < 0) {
    insn.handler = d.fault === DecodeFault.TooLong ? tooLong : undefinedOpcode;
    return (linear + insn.length - 1) | 0;
  }
  const form = INSTRUCTION_FORMS[d.formIndex]!;
  insn.opcode = form.map * 256 + form.opcode + d.opcodeRegister;
  insn.osize = d.operandSize === 32 ? 4 : 2;
  insn.asize = d.addressSize === 32 ? 4 : 2;
  insn.mod = d.hasModrm ? d.mod : 3;
  insn.reg = d.hasModrm ? d.reg : d.opcodeRegister;
  insn.rm = d.hasModrm ? d.rm : d.opcodeRegister;
  insn.base = d.base;
  insn.index = d.index;
  insn.scale = d.scaleShift;
  insn.disp = d.displacement | 0;
  insn.seg = d.segment;
  insn.segOverride = d.segmentOverride >= 0;
  insn.imm = d.immediate;
  insn.imm2 = form.operands.includes('Ap') ? d.farSelector : d.immediate2;
  insn.rep = (d.prefixes & Prefix.REP) !== 0 ? 1 : (d.prefixes & Prefix.REPNE) !== 0 ? 2 : 0;
  insn.lock = (d.prefixes & Prefix.LOCK) !== 0;
  insn.handler = handlerFor(form, insn);
  // VMX non-root: forms that may exit consult the VMX controls first (vmxHooks.ts; blocks are flushed on entry/exit).
  if (cpu.vmx !== null && cpu.vmx.nonRoot && cpu.vmx.mayExit(d.formIndex)) insn.handler = nonRootHandler;
  insn.endsBlock = form.blockBoundary || form.category === 'system' || form.category === 'vmx' ||
    (form.category === 'string' && insn.rep !== 0) || form.privilege !== 'any';
  return (linear + insn.length - 1) | 0;
}

function tooLong(cpu: Cpu): void {
  cpu.raise(Vector.GP, 0, 'instruction longer than 15 bytes');
}
