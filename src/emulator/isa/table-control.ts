// Control-transfer and string rows of the instruction table (Intel SDM Vol. 2: JMP, Jcc, CALL, RET/RETF,
// LOOP/LOOPE/LOOPNE, JECXZ, INT n/INT3/INTO, IRET; MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS, CLD/STD).
// Far transfers, INT and IRET are sensitive: they check or change CPL through descriptors (Robin & Irvine).

import { CONDITION_CODES, hex2, type FormRow } from './form-builder';

const BRANCH = { block: true } as const;
const FAR = { block: true, virt: 'sensitive-unprivileged' } as const;

function jccRows(): FormRow[] {
  const rows: FormRow[] = [];
  CONDITION_CODES.forEach(([cc, reads], code) => {
    rows.push([`J${cc.toUpperCase()} Jb`, `${hex2(0x70 + code)} cb`, { r: reads, block: true }]);
    rows.push([`J${cc.toUpperCase()} Jz`, `0F ${hex2(0x80 + code)} cd`, { r: reads, block: true }]);
  });
  return rows;
}

export const CONTROL_ROWS: readonly FormRow[] = [
  ['JMP Jb', 'EB cb', BRANCH],
  ['JMP Jz', 'E9 cd', BRANCH],
  ['JMP Ap', 'EA cp', FAR],
  ['JMP Mp', 'FF /5', { ...FAR, mod: 'mem' }],
  ['JMP Ev', 'FF /4', BRANCH],
  ...jccRows(),
  ['CALL Jz', 'E8 cd', BRANCH],
  ['CALL Ap', '9A cp', FAR],
  ['CALL Mp', 'FF /3', { ...FAR, mod: 'mem' }],
  ['CALL Ev', 'FF /2', BRANCH],
  ['RET', 'C3', BRANCH],
  ['RET Iw', 'C2 iw', BRANCH],
  ['RETF', 'CB', FAR],
  ['RETF Iw', 'CA iw', FAR],
  ['LOOP Jb', 'E2 cb', BRANCH],
  ['LOOPE Jb', 'E1 cb', { r: 'z', block: true }],
  ['LOOPNE Jb', 'E0 cb', { r: 'z', block: true }],
  ['JECXZ Jb', 'E3 cb', BRANCH],
  ['INT3', 'CC', { w: 'tnr', ...FAR }],
  ['INT Ib', 'CD ib', { w: 'tnr', ...FAR }],
  ['INTO', 'CE', { r: 'o', w: 'tnr', ...FAR }],
  ['IRETD', 'CF', { name: 'iret', osize: 32, w: 'x', ...FAR }],
  ['IRET', 'CF', { name: 'iretw', osize: 16, w: 'x', ...FAR }],
];

const STRING_OPERATIONS: readonly (readonly [name: string, opcode: number, compares: boolean, io: boolean])[] = [
  ['MOVS', 0xa4, false, false], ['CMPS', 0xa6, true, false], ['STOS', 0xaa, false, false],
  ['LODS', 0xac, false, false], ['SCAS', 0xae, true, false], ['INS', 0x6c, false, true],
  ['OUTS', 0x6e, false, true],
];

function stringRows(): FormRow[] {
  const rows: FormRow[] = [];
  for (const [name, opcode, compares, io] of STRING_OPERATIONS) {
    const options = {
      r: 'd', w: compares ? 'copsza' : '', rep: true, repne: compares,
      ...(io ? { virt: 'io-sensitive', priv: 'iopl' } as const : {}),
    };
    rows.push(
      [`${name}B`, hex2(opcode), options],
      [`${name}W`, hex2(opcode + 1), { ...options, osize: 16 }],
      [`${name}D`, hex2(opcode + 1), { ...options, osize: 32 }],
    );
  }
  return rows;
}

export const STRING_ROWS: readonly FormRow[] = [
  ...stringRows(),
  ['CLD', 'FC', { w: 'd' }],
  ['STD', 'FD', { w: 'd' }],
];
