// Operand text in ndisasm's spelling (NASM 2.16 `ndisasm -b32`, verified by test/unit/disasm): registers,
// `[seg:base+index*scale±disp]` memory with ndisasm's size keywords, `byte +0x5` sign-extended imm8,
// `dword 0x80` for PUSH/IMUL imm32, `short`/`near` branches, far pointers.

import type { DecodedInstruction } from '../isa/decoder';
import { REGISTER_NAMES } from '../isa/encoder-ea';
import type { InstructionForm, OperandKind } from '../isa/types';

export type Symbolizer = (address: number) => string | undefined;

const SIXTEEN_BIT_BASES = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'] as const;
const SIZE_KEYWORDS: Readonly<Record<number, string>> = { 8: 'byte', 16: 'word', 32: 'dword' };

export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function signedHex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `+0x${value.toString(16)}`;
}

function address(value: number, symbolize: Symbolizer | undefined): string {
  return symbolize?.(value) ?? hex(value);
}

/** The `[...]` text of the decoded ModRM/moffs memory operand. */
export function formatMemory(d: DecodedInstruction, moffs: boolean, symbolize: Symbolizer | undefined): string {
  const segment = d.segmentOverride >= 0 ? `${REGISTER_NAMES.segment[d.segmentOverride]}:` : '';
  if (moffs) {
    const width = d.addressSize === 16 ? 'word ' : '';
    return `[${segment}${width}${address(d.displacement >>> 0, symbolize)}]`;
  }
  const parts: string[] = [];
  if (d.addressSize === 16) {
    if (d.base >= 0) parts.push(SIXTEEN_BIT_BASES[d.rm] as string);
  } else {
    if (d.base >= 0) parts.push(REGISTER_NAMES[32][d.base] as string);
    if (d.index >= 0) {
      const index = REGISTER_NAMES[32][d.index] as string;
      // ndisasm prints a scale-1 index without a base as the base (`[eax+0x0]`).
      parts.push(d.scaleShift === 0 ? index : `${index}*${1 << d.scaleShift}`);
    }
  }
  if (parts.length === 0) {
    // ndisasm marks the ModRM absolute form (mod 00, r/m 101) as `dword`, not the SIB one (base 101).
    const value = d.addressSize === 16 ? d.displacement & 0xffff : d.displacement >>> 0;
    const width = d.addressSize === 16 ? 'word ' : d.hasSib ? '' : 'dword ';
    return `[${width}${segment}${address(value, symbolize)}]`;
  }
  const displacement = d.displacementSize === 0 ? '' : signedHex(d.displacement);
  return `[${segment}${parts.join('+')}${displacement}]`;
}

/** Forms whose memory operand ndisasm prints without a size keyword although no register gives it. */
const UNSIZED_MEMORY_FORMS = new Set([
  'SLDT Ev', 'STR Ev', 'SMSW Ev', 'LLDT Ew', 'LTR Ew', 'VERR Ew', 'VERW Ew', 'LMSW Ew', 'JMP Ev', 'CALL Ev',
]);

function memorySizeKeyword(form: InstructionForm, kind: OperandKind, operandSize: number): string {
  if (form.mnemonic.startsWith('set')) return '';
  if (UNSIZED_MEMORY_FORMS.has(form.sdm) && !(kind === 'Ev' && operandSize === 16 && form.category === 'control')) return '';
  if (kind === 'Ed' && (form.mnemonic === 'vmread' || form.mnemonic === 'vmwrite')) return 'dword ';
  if (form.mnemonic === 'movzx' || form.mnemonic === 'movsx') {
    if (operandSize === 16 && kind === 'Eb') return '';
    return kind === 'Eb' ? 'byte ' : 'word ';
  }
  if (form.operands.some((k) => k[0] === 'G' || k === 'Sw')) return '';
  const bits = kind === 'Eb' ? 8 : kind === 'Ew' ? 16 : kind === 'Ed' ? 32 : kind === 'Ev' ? operandSize : 0;
  return bits === 0 ? '' : `${SIZE_KEYWORDS[bits]} `;
}

/** Text of operand `position` of the decoded instruction `d` (whose form is `form`) at `instructionAddress`. */
export function formatOperand(
  d: DecodedInstruction, form: InstructionForm, position: number, instructionAddress: number,
  symbolize: Symbolizer | undefined,
): string {
  const kind = form.operands[position] as OperandKind;
  const size = d.operandSize;
  const gpr = (bits: 8 | 16 | 32, number: number) => REGISTER_NAMES[bits][number] as string;
  switch (kind) {
    case 'Eb': case 'Ew': case 'Ed': case 'Ev': case 'Rd': case 'Rv': case 'M': case 'Mw': case 'Md': case 'Mq':
    case 'Ms': case 'Mp': {
      if (!d.isMemory) {
        const bits = kind === 'Eb' ? 8 : kind === 'Ew' ? 16 : kind === 'Ed' || kind === 'Rd' ? 32 : size;
        return gpr(bits, d.rm);
      }
      if (kind === 'Mp') return `${size === 16 ? 'word ' : ''}far ${formatMemory(d, false, symbolize)}`;
      return `${memorySizeKeyword(form, kind, size)}${formatMemory(d, false, symbolize)}`;
    }
    case 'Gb': return gpr(8, d.reg);
    case 'Gw': return gpr(16, d.reg);
    case 'Gd': return gpr(32, d.reg);
    case 'Gv': return gpr(size, d.reg);
    case 'Zb': return gpr(8, d.opcodeRegister);
    case 'Zv': return gpr(size, d.opcodeRegister);
    case 'Sw': return REGISTER_NAMES.segment[d.reg] ?? `sreg${d.reg}`;
    case 'Cd': return `cr${d.reg}`;
    case 'Dd': return `dr${d.reg}`;
    case 'AL': return 'al';
    case 'CL': return 'cl';
    case 'DX': return 'dx';
    case 'eAX': return size === 16 ? 'ax' : 'eax';
    case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': return kind.toLowerCase();
    case 'one': return '1';
    case 'Ob': case 'Ov': return formatMemory(d, true, symbolize);
    case 'Ibs': return `byte ${signedHex(d.immediate)}`;
    case 'Ib': {
      // ENTER Iw,Ib: the second immediate.
      if (position > 0 && form.operands[0] === 'Iw') return hex(d.immediate2);
      const shifted = form.opcode === 0xc0 || form.opcode === 0xc1 || (form.map === 1 && form.opcode === 0xba);
      return `${shifted ? 'byte ' : ''}${hex(d.immediate)}`;
    }
    case 'Iw': return hex(d.immediate);
    case 'Iz': {
      const explicit = form.mnemonic === 'push' || form.mnemonic === 'imul';
      return `${explicit ? SIZE_KEYWORDS[size] + ' ' : ''}${hex(d.immediate)}`;
    }
    case 'Jb': case 'Jz': {
      // ndisasm wraps a rel16 target to 16 bits but prints rel8 targets unwrapped even under 66h.
      const mask = size === 16 && kind === 'Jz' ? 0xffff : 0xffffffff;
      const target = ((instructionAddress + d.length + d.immediate) & mask) >>> 0;
      const isJcc = form.mnemonic.startsWith('j') && form.mnemonic !== 'jmp' && form.mnemonic !== 'jecxz';
      const distance = kind === 'Jb' && form.mnemonic === 'jmp' ? 'short ' : kind === 'Jz' && size === 16 ? 'word ' :
        kind === 'Jz' && isJcc ? 'near ' : '';
      // LOOPcc with a 16-bit address size count in CX: ndisasm writes `loop 0x10,cx`.
      const counter = form.mnemonic.startsWith('loop') && d.addressSize === 16 ? ',cx' : '';
      return `${distance}${address(target, symbolize)}${counter}`;
    }
    case 'Ap': return `${size === 16 ? 'word ' : ''}${hex(d.farSelector)}:${hex(d.immediate)}`;
  }
}
