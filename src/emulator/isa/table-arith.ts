// Arithmetic and logic rows of the instruction table (Intel SDM Vol. 2: ADD..CMP, TEST, INC/DEC, NEG/NOT,
// MUL/IMUL/DIV/IDIV, shifts and rotates, SHLD/SHRD, BT/BTS/BTR/BTC, BSF/BSR, CLC/STC/CMC).
// Flag rules follow each instruction's "Flags Affected" section. Row order is the encoder's preference.

import { hex2, type FormRow } from './form-builder';

const ALU_OPERATIONS: readonly (readonly [name: string, base: number, digit: number, reads: string, lock: boolean])[] = [
  ['ADD', 0x00, 0, '', true], ['OR', 0x08, 1, '', true], ['ADC', 0x10, 2, 'c', true],
  ['SBB', 0x18, 3, 'c', true], ['AND', 0x20, 4, '', true], ['SUB', 0x28, 5, '', true],
  ['XOR', 0x30, 6, '', true], ['CMP', 0x38, 7, '', false],
];

function aluRows(): FormRow[] {
  const rows: FormRow[] = [];
  for (const [name, base, digit, reads, lock] of ALU_OPERATIONS) {
    // AND/OR/XOR clear OF and CF and leave AF undefined (SDM Vol. 2, "AND": Flags Affected).
    const logical = name === 'AND' || name === 'OR' || name === 'XOR';
    const flags = { r: reads, w: logical ? 'copsz' : 'copsza', u: logical ? 'a' : '' };
    const locked = { ...flags, lock };
    rows.push(
      [`${name} Eb,Gb`, `${hex2(base)} /r`, locked],
      [`${name} Ev,Gv`, `${hex2(base + 1)} /r`, locked],
      [`${name} Gb,Eb`, `${hex2(base + 2)} /r`, flags],
      [`${name} Gv,Ev`, `${hex2(base + 3)} /r`, flags],
      // NASM prefers the sign-extended imm8 form, then the accumulator forms (its insns.dat order).
      [`${name} Ev,Ibs`, `83 /${digit} ib`, locked],
      [`${name} AL,Ib`, `${hex2(base + 4)} ib`, flags],
      [`${name} eAX,Iz`, `${hex2(base + 5)} iz`, flags],
      [`${name} Eb,Ib`, `80 /${digit} ib`, locked],
      [`${name} Ev,Iz`, `81 /${digit} iz`, locked],
    );
  }
  return rows;
}

const SHIFT_OPERATIONS: readonly (readonly [name: string, digit: number])[] = [
  ['ROL', 0], ['ROR', 1], ['RCL', 2], ['RCR', 3], ['SHL', 4], ['SHR', 5], ['SAL', 4], ['SAR', 7],
];

function shiftRows(): FormRow[] {
  const rows: FormRow[] = [];
  for (const [name, digit] of SHIFT_OPERATIONS) {
    const rotate = digit < 4;
    const carryIn = digit === 2 || digit === 3 ? 'c' : '';
    // Rotates change only CF and OF; shifts set SF/ZF/PF, AF undefined; OF undefined for counts > 1.
    const flags = rotate ? { r: carryIn, w: 'co', u: '' } : { w: 'copsz', u: 'a' };
    const countFlags = rotate ? { r: carryIn, w: 'co', u: 'o' } : { w: 'copsz', u: 'ao' };
    const nasmName = name === 'SAL' ? { name: 'sal' } : {};
    rows.push(
      [`${name} Eb,one`, `D0 /${digit}`, { ...flags, ...nasmName }],
      [`${name} Ev,one`, `D1 /${digit}`, { ...flags, ...nasmName }],
      [`${name} Eb,CL`, `D2 /${digit}`, { ...countFlags, ...nasmName }],
      [`${name} Ev,CL`, `D3 /${digit}`, { ...countFlags, ...nasmName }],
      [`${name} Eb,Ib`, `C0 /${digit} ib`, { ...countFlags, ...nasmName }],
      [`${name} Ev,Ib`, `C1 /${digit} ib`, { ...countFlags, ...nasmName }],
    );
  }
  return rows;
}

const BIT_TESTS: readonly (readonly [name: string, registerOpcode: number, digit: number])[] = [
  ['BT', 0xa3, 4], ['BTS', 0xab, 5], ['BTR', 0xb3, 6], ['BTC', 0xbb, 7],
];

function bitTestRows(): FormRow[] {
  const rows: FormRow[] = [];
  for (const [name, registerOpcode, digit] of BIT_TESTS) {
    const flags = { w: 'copsza', u: 'opsza', lock: name !== 'BT' };
    rows.push([`${name} Ev,Gv`, `0F ${hex2(registerOpcode)} /r`, flags], [`${name} Ev,Ib`, `0F BA /${digit} ib`, flags]);
  }
  return rows;
}

const UNARY_FLAGS = { w: 'copsza' };
const MULTIPLY_FLAGS = { w: 'copsza', u: 'psza' };
const DIVIDE_FLAGS = { w: 'copsza', u: 'copsza' };

export const ARITHMETIC_ROWS: readonly FormRow[] = [
  ...aluRows(),
  ['TEST Ev,Gv', '85 /r', { w: 'copsz', u: 'a' }],
  ['TEST Eb,Gb', '84 /r', { w: 'copsz', u: 'a' }],
  ['TEST AL,Ib', 'A8 ib', { w: 'copsz', u: 'a' }],
  ['TEST eAX,Iz', 'A9 iz', { w: 'copsz', u: 'a' }],
  ['TEST Eb,Ib', 'F6 /0 ib', { w: 'copsz', u: 'a' }],
  ['TEST Ev,Iz', 'F7 /0 iz', { w: 'copsz', u: 'a' }],
  ['INC Zv', '40+r', { w: 'opsza' }],
  ['INC Eb', 'FE /0', { w: 'opsza', lock: true }],
  ['INC Ev', 'FF /0', { w: 'opsza', lock: true }],
  ['DEC Zv', '48+r', { w: 'opsza' }],
  ['DEC Eb', 'FE /1', { w: 'opsza', lock: true }],
  ['DEC Ev', 'FF /1', { w: 'opsza', lock: true }],
  ['NOT Eb', 'F6 /2', { lock: true }],
  ['NOT Ev', 'F7 /2', { lock: true }],
  ['NEG Eb', 'F6 /3', { ...UNARY_FLAGS, lock: true }],
  ['NEG Ev', 'F7 /3', { ...UNARY_FLAGS, lock: true }],
  ['MUL Eb', 'F6 /4', MULTIPLY_FLAGS],
  ['MUL Ev', 'F7 /4', MULTIPLY_FLAGS],
  ['IMUL Eb', 'F6 /5', MULTIPLY_FLAGS],
  ['IMUL Ev', 'F7 /5', MULTIPLY_FLAGS],
  ['IMUL Gv,Ev', '0F AF /r', MULTIPLY_FLAGS],
  ['IMUL Gv,Ev,Ibs', '6B /r ib', MULTIPLY_FLAGS],
  ['IMUL Gv,Ev,Iz', '69 /r iz', MULTIPLY_FLAGS],
  ['DIV Eb', 'F6 /6', DIVIDE_FLAGS],
  ['DIV Ev', 'F7 /6', DIVIDE_FLAGS],
  ['IDIV Eb', 'F6 /7', DIVIDE_FLAGS],
  ['IDIV Ev', 'F7 /7', DIVIDE_FLAGS],
  ...shiftRows(),
  ['SHLD Ev,Gv,Ib', '0F A4 /r ib', { w: 'copsza', u: 'ao' }],
  ['SHLD Ev,Gv,CL', '0F A5 /r', { w: 'copsza', u: 'ao' }],
  ['SHRD Ev,Gv,Ib', '0F AC /r ib', { w: 'copsza', u: 'ao' }],
  ['SHRD Ev,Gv,CL', '0F AD /r', { w: 'copsza', u: 'ao' }],
  ...bitTestRows(),
  ['BSF Gv,Ev', '0F BC /r', { w: 'copsza', u: 'copsa' }],
  ['BSR Gv,Ev', '0F BD /r', { w: 'copsza', u: 'copsa' }],
  ['CLC', 'F8', { w: 'c' }],
  ['STC', 'F9', { w: 'c' }],
  ['CMC', 'F5', { r: 'c', w: 'c' }],
];
