// Generates representative instruction statements from the instruction table: for every form, operands
// of every kind it takes (registers, all addressing modes, edge immediates, jump distances), both as the
// encoder's InstructionStatement and as NASM source text, so the same case can be fed to both.

import type {
  ImmediateOperand, InstructionStatement, MemoryOperand, Operand, OperandBits, RegisterName,
} from '../../../src/emulator/isa/operands';
import { INSTRUCTION_FORMS, MNEMONIC_ALIASES } from '../../../src/emulator/isa/table';
import type { InstructionForm, OperandKind } from '../../../src/emulator/isa/types';

/** A source operand: how to build it at a given instruction address, and its NASM text. */
interface SampleOperand {
  readonly text: string;
  readonly build: (address: number) => Operand;
}

export interface GeneratedCase {
  readonly form: InstructionForm;
  readonly text: string;
  readonly build: (address: number) => InstructionStatement;
}

const reg = (name: RegisterName): SampleOperand => ({ text: name, build: () => ({ kind: 'reg', name }) });

function imm(value: number, options: { bits?: OperandBits; strict?: boolean } = {}): SampleOperand {
  const keyword = `${options.strict ? 'strict ' : ''}${options.bits ? sizeKeyword(options.bits) + ' ' : ''}`;
  const text = `${keyword}${value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`}`;
  const operand: ImmediateOperand = { kind: 'imm', value, known: true, relocatable: false, ...options };
  return { text, build: () => operand };
}

/** A jump target written as `$+delta` (an absolute value once the address is known). */
function target(delta: number, distance?: 'short' | 'near'): SampleOperand {
  const text = `${distance ? distance + ' ' : ''}$${delta < 0 ? '-' : '+'}0x${Math.abs(delta).toString(16)}`;
  return {
    text,
    build: (address) => ({ kind: 'imm', value: address + delta, known: true, relocatable: false, ...(distance ? { distance } : {}) }),
  };
}

function sizeKeyword(bits: OperandBits): string {
  return { 8: 'byte', 16: 'word', 32: 'dword', 48: 'fword', 64: 'qword', 80: 'tword' }[bits];
}

interface AddressSpec {
  base?: MemoryOperand['base'];
  index?: MemoryOperand['index'];
  scale?: 1 | 2 | 4 | 8;
  displacement?: number;
  displacementBits?: 8 | 16 | 32;
  segment?: MemoryOperand['segment'];
  nosplit?: boolean;
}

function mem(spec: AddressSpec, bits?: OperandBits, distance?: 'far'): SampleOperand {
  const parts: string[] = [];
  if (spec.base) parts.push(spec.base);
  if (spec.index) parts.push(spec.scale && spec.scale !== 1 ? `${spec.index}*${spec.scale}` : `${spec.index}*1`);
  const displacement = spec.displacement ?? 0;
  let text = parts.join('+');
  if (spec.displacement !== undefined) {
    const d = `0x${Math.abs(displacement).toString(16)}`;
    text = text === '' ? (displacement < 0 ? `-${d}` : d) : `${text}${displacement < 0 ? '-' : '+'}${d}`;
  }
  const inner = `${spec.displacementBits ? sizeKeyword(spec.displacementBits) + ' ' : ''}${spec.nosplit ? 'nosplit ' : ''}${spec.segment ? spec.segment + ':' : ''}${text}`;
  const prefix = `${bits ? sizeKeyword(bits) + ' ' : ''}${distance ? 'far ' : ''}`;
  const operand: MemoryOperand = {
    kind: 'mem', value: displacement, known: true, relocatable: false, scale: spec.scale ?? 1,
    hasDisplacement: spec.displacement !== undefined,
    ...(bits ? { bits } : {}), ...(spec.base ? { base: spec.base } : {}), ...(spec.index ? { index: spec.index } : {}),
    ...(spec.displacementBits ? { displacementBits: spec.displacementBits } : {}),
    ...(spec.segment ? { segment: spec.segment } : {}), ...(spec.nosplit ? { nosplit: true } : {}),
    ...(distance ? { distance } : {}),
  };
  return { text: `${prefix}[${inner}]`, build: () => operand };
}

/** Every addressing form worth checking (used in full for a few representative forms). */
export const ADDRESSING_MODES: readonly AddressSpec[] = [
  { base: 'eax' }, { base: 'ebx', displacement: 4 }, { base: 'esp' }, { base: 'ebp' }, { base: 'esp', displacement: 8 },
  { base: 'ebp', displacement: -4 }, { base: 'eax', index: 'ebx' }, { base: 'eax', index: 'ebx', scale: 4 },
  { index: 'ebx', scale: 4, displacement: 0x10 }, { index: 'eax', scale: 2 }, { index: 'ebp', scale: 1 },
  { index: 'eax', scale: 8 }, { displacement: 0x1000 }, { base: 'eax', displacement: 0x80 }, { base: 'eax', displacement: -0x80 },
  { base: 'eax', displacement: -0x81 }, { base: 'eax', displacement: 127 }, { base: 'ecx', displacement: 0x12345678 },
  { base: 'esi', index: 'edi', scale: 8, displacement: -0x7f }, { base: 'esp', index: 'eax', scale: 2, displacement: 0x100 },
  { base: 'eax', index: 'esp' }, { base: 'ebp', index: 'ebx' }, { base: 'ebx', index: 'ebp' }, { index: 'ebp', scale: 4 },
  { index: 'eax', scale: 1, nosplit: true }, { index: 'ecx', scale: 2, nosplit: true }, { base: 'eax', displacement: 0 },
  { base: 'ebp', displacement: 0 }, { base: 'eax', displacement: 1, displacementBits: 8 },
  { base: 'eax', displacement: 1, displacementBits: 32 }, { base: 'edx', displacementBits: 32 },
  { base: 'eax', segment: 'es' }, { base: 'ebp', displacement: 8, segment: 'fs' }, { base: 'ebp', segment: 'ss' },
  { base: 'esp', displacement: 4, segment: 'gs' }, { displacement: 0x20, segment: 'cs' },
  { base: 'bx', index: 'si' }, { base: 'bp' }, { base: 'bp', index: 'di', displacement: 0x1234 }, { base: 'si', displacement: 4 },
  { base: 'bx', displacement: -2 }, { base: 'di' },
];

const FEW_MODES: readonly AddressSpec[] = [
  { base: 'eax' }, { base: 'ebp', displacement: -8 }, { base: 'esp', index: 'ecx', scale: 4, displacement: 0x200 },
  { displacement: 0x1000 }, { base: 'bx', index: 'si' },
];

export const EDGE_IMMEDIATES: readonly number[] = [0, 1, 127, 128, -128, -129, 255, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0xffffffff];

const FULL_MODE_FORMS = new Set(['MOV Ev,Gv', 'MOV Gb,Eb', 'ADD Ev,Ibs', 'LEA Gv,M', 'INC Ev', 'PUSH Ev']);

function registersOf(bits: 8 | 16 | 32): SampleOperand[] {
  const names: Record<number, RegisterName[]> = {
    8: ['cl', 'al', 'ah', 'bh'], 16: ['cx', 'ax', 'sp', 'di'], 32: ['ecx', 'eax', 'esp', 'ebp', 'edi'],
  };
  return (names[bits] ?? []).map(reg);
}

function memories(form: InstructionForm, bits: OperandBits | undefined): SampleOperand[] {
  const modes = FULL_MODE_FORMS.has(form.sdm) ? ADDRESSING_MODES : FEW_MODES;
  return modes.map((spec) => mem(spec, bits));
}

/** Sample operands for one kind at operand size `size` (for v kinds). */
function samples(kind: OperandKind, form: InstructionForm, size: 16 | 32, sized: boolean): SampleOperand[] {
  switch (kind) {
    case 'Eb': return [...registersOf(8), ...memories(form, sized ? 8 : undefined)];
    case 'Ev': return [...registersOf(size), ...memories(form, sized ? size : undefined)];
    case 'Ew': return [reg('ax'), reg('bx'), ...memories(form, sized ? 16 : undefined)];
    case 'Ed': return [reg('eax'), reg('esi'), ...memories(form, sized ? 32 : undefined)];
    case 'Gb': case 'Zb': return registersOf(8);
    case 'Gv': case 'Zv': return registersOf(size);
    case 'Gw': return [reg('bx'), reg('sp')];
    case 'Gd': case 'Rd': case 'Rv': return [reg('eax'), reg('edx'), reg('edi')];
    case 'M': case 'Mq': case 'Ms': case 'Mw': case 'Md': return memories(form, undefined);
    case 'Mp': return FEW_MODES.slice(0, 4).map((spec) => mem(spec, undefined, 'far'));
    case 'Ib': return [0, 1, 0x7f, 0x80, 0xff].map((v) => imm(v));
    case 'Iw': return [0, 8, 0x1234, 0xffff].map((v) => imm(v));
    case 'Ibs': return [0, 127, -128, -1, 0xffffffff].map((v) => imm(v)).concat([imm(5, { bits: 8 })]);
    case 'Iz': return EDGE_IMMEDIATES.map((v) => imm(v)).concat([imm(5, { bits: 32, strict: true })]);
    case 'Jb': return [target(2), target(-2), target(0x81), target(-0x7e), target(0x10, 'short')];
    case 'Jz': return [target(0x200), target(-0x300), target(0x10, 'near'), target(0x12345)];
    case 'Ap': return [{ text: '0x8:0x1000', build: () => ({ kind: 'far', segment: v(8), offset: v(0x1000) }) },
      { text: '0x10:0x12345678', build: () => ({ kind: 'far', segment: v(0x10), offset: v(0x12345678) }) }];
    case 'Ob': case 'Ov': return [mem({ displacement: 0x1000 }), mem({ displacement: 0x12345678, segment: 'es' })];
    case 'Sw': return form.sdm === 'MOV Sw,Ev' ? ['es', 'ss', 'ds', 'fs', 'gs'].map((s) => reg(s as RegisterName))
      : ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].map((s) => reg(s as RegisterName));
    case 'Cd': return ['cr0', 'cr2', 'cr3', 'cr4'].map((c) => reg(c as RegisterName));
    case 'Dd': return ['dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7'].map((d) => reg(d as RegisterName));
    case 'AL': return [reg('al')];
    case 'eAX': return [reg(size === 16 ? 'ax' : 'eax')];
    case 'CL': return [reg('cl')];
    case 'DX': return [reg('dx')];
    case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': return [reg(kind.toLowerCase() as RegisterName)];
    case 'one': return [imm(1)];
  }
}

function v(value: number): { value: number; known: boolean; relocatable: boolean } {
  return { value, known: true, relocatable: false };
}

/** Cases for one form: each operand position cycles through its samples; other positions use the first. */
export function casesForForm(form: InstructionForm): GeneratedCase[] {
  const sizes: (16 | 32)[] = form.operandSize !== 0 ? [form.operandSize] :
    form.operands.some((k) => k[1] === 'v' || k === 'eAX' || k === 'Iz' || k === 'Ibs') ? [32, 16] : [32];
  const cases: GeneratedCase[] = [];
  const hasSizingRegister = (kinds: readonly OperandKind[]) => kinds.some((k) => /^(G|Z)|^(AL|eAX|CL)$/.test(k));
  for (const size of sizes) {
    // Size keywords on memory unless a register of the same size implies it (movzx/lar mix sizes).
    const mixed = form.operands.some((k) => k === 'Eb' || k === 'Ew') && form.operands.some((k) => k[1] === 'v');
    const sized = !hasSizingRegister(form.operands) || mixed;
    const lists = form.operands.map((kind) => samples(kind, form, size, sized));
    const seen = new Set<string>();
    const emit = (chosen: SampleOperand[]) => {
      const text = `${form.mnemonic}${chosen.length ? ' ' : ''}${chosen.map((o) => o.text).join(', ')}`;
      if (seen.has(text)) return;
      seen.add(text);
      cases.push({
        form, text,
        build: (address) => ({ mnemonic: form.mnemonic, prefixes: [], operands: chosen.map((o) => o.build(address)) }),
      });
    };
    if (lists.length === 0) emit([]);
    lists.forEach((list, position) => {
      for (const sample of list) emit(lists.map((l, i) => (i === position ? sample : l[0] as SampleOperand)));
    });
  }
  return cases;
}

/** Extra statements: prefixes, aliases and NASM special cases. */
export function specialCases(): GeneratedCase[] {
  const lines: [string, () => InstructionStatement][] = [];
  const stmt = (mnemonic: string, prefixes: string[], operands: SampleOperand[]) => {
    lines.push([`${prefixes.join(' ')}${prefixes.length ? ' ' : ''}${mnemonic}${operands.length ? ' ' : ''}${operands.map((o) => o.text).join(', ')}`,
      () => ({ mnemonic, prefixes, operands: operands.map((o) => o.build(0)) })]);
  };
  for (const op of ['movsb', 'movsd', 'movsw', 'stosd', 'lodsb', 'insd', 'outsb']) stmt(op, ['rep'], []);
  for (const op of ['cmpsb', 'scasd', 'cmpsw']) { stmt(op, ['repe'], []); stmt(op, ['repne'], []); stmt(op, ['repz'], []); }
  stmt('add', ['lock'], [mem({ base: 'eax' }), reg('ebx')]);
  stmt('xchg', ['lock'], [mem({ base: 'eax', displacement: 4 }), reg('ecx')]);
  stmt('cmpxchg', ['lock'], [mem({ base: 'edi' }, 32), reg('edx')]);
  stmt('movsb', ['es'], []);
  stmt('lodsd', ['fs'], []);
  stmt('add', ['lock'], [mem({ base: 'eax', segment: 'es' }), reg('ebx')]);
  stmt('imul', [], [reg('eax'), imm(5)]);
  stmt('imul', [], [reg('cx'), imm(300)]);
  stmt('xchg', [], [reg('ebx'), reg('eax')]);
  stmt('xchg', [], [mem({ base: 'eax' }), reg('ebx')]);
  stmt('test', [], [mem({ base: 'eax' }), reg('ebx')]);
  stmt('test', [], [reg('ebx'), mem({ base: 'eax' })]);
  stmt('setz', [], [mem({ base: 'eax' })]);
  stmt('mov', [], [mem({ base: 'eax' }), imm(5, { bits: 32 })]);
  stmt('push', [], [imm(5, { bits: 16 })]);
  stmt('push', [], [imm(5, { bits: 32, strict: true })]);
  stmt('add', [], [reg('eax'), imm(5, { bits: 32, strict: true })]);
  stmt('add', [], [reg('ecx'), imm(5, { bits: 32, strict: true })]);
  stmt('mov', [], [reg('eax'), mem({ displacement: 0x1234 }, undefined)]);
  stmt('mov', ['a16'], [reg('eax'), mem({ displacement: 0x1234 })]);
  stmt('mov', [], [reg('ebx'), mem({ displacement: 0x1000 })]);
  // Displacement sizes on absolute addresses: `byte` is ignored, `word` selects 16-bit addressing.
  for (const displacementBits of [8, 16, 32] as const) {
    stmt('mov', [], [reg('eax'), mem({ displacement: 0x10, displacementBits })]);
    stmt('mov', [], [reg('ebx'), mem({ displacement: 0x10, displacementBits })]);
  }
  stmt('mov', [], [reg('eax'), mem({ base: 'bx', displacementBits: 16 })]);
  stmt('mov', [], [reg('eax'), mem({ base: 'ebp', displacementBits: 8 })]);
  stmt('mov', [], [reg('ds'), reg('ax')]);
  stmt('sldt', [], [mem({ base: 'eax' })]);
  stmt('lar', [], [reg('eax'), reg('ebx')]);
  // Size keywords on branch targets and far pointers.
  const sizedTarget = (delta: number, bits: 16 | 32): SampleOperand => ({
    text: `${sizeKeyword(bits)} $+0x${delta.toString(16)}`,
    build: (address) => ({ kind: 'imm', value: address + delta, known: true, relocatable: false, bits }),
  });
  for (const op of ['jmp', 'call', 'jz']) { stmt(op, [], [sizedTarget(0x10, 32)]); stmt(op, [], [sizedTarget(0x10, 16)]); }
  for (const bits of [16, 32] as const) {
    stmt('jz', [], [{
      text: `near ${sizeKeyword(bits)} $+0x40`,
      build: (address) => ({ kind: 'imm', value: address + 0x40, known: true, relocatable: false, bits, distance: 'near' }),
    }]);
  }
  const farSized = (bits: 16 | 32): SampleOperand => ({
    text: `${sizeKeyword(bits)} 0x8:0x1000`,
    build: () => ({ kind: 'far', segment: v(8), offset: v(0x1000), bits }),
  });
  for (const op of ['jmp', 'call']) {
    stmt(op, [], [farSized(16)]); stmt(op, [], [farSized(32)]);
    stmt(op, [], [mem({ base: 'eax' }, 16, 'far')]); stmt(op, [], [mem({ base: 'ebx', displacement: 8 }, 32, 'far')]);
  }
  for (const [alias] of MNEMONIC_ALIASES) {
    if (alias.startsWith('j')) stmt(alias, [], [target(0x40)]);
    else if (alias.startsWith('set')) stmt(alias, [], [reg('al')]);
    else if (alias.startsWith('cmov')) stmt(alias, [], [reg('eax'), reg('ebx')]);
    else if (alias.startsWith('loop')) stmt(alias, [], [target(-4)]);
    else if (alias !== 'retn') stmt(alias, [], []);
  }
  return lines.map(([text, build]) => ({
    form: INSTRUCTION_FORMS[0] as InstructionForm, text,
    build: (address: number) => {
      const s = build();
      // Re-evaluate jump targets relative to the real address.
      return { ...s, operands: s.operands.map((o) => (o.kind === 'imm' && /\$/.test(text) && o === s.operands[0] ? { ...o, value: o.value + address } : o)) };
    },
  }));
}

export function allGeneratedCases(): GeneratedCase[] {
  return [...INSTRUCTION_FORMS.flatMap(casesForForm), ...specialCases()];
}
