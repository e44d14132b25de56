// Data-movement rows of the instruction table (Intel SDM Vol. 2: MOV, MOVZX/MOVSX, LEA, XCHG, XADD,
// CMPXCHG, BSWAP, CMOVcc, SETcc, PUSH/POP, PUSHA/POPA, PUSHF/POPF, LAHF/SAHF, CBW..CDQ, ENTER/LEAVE).
// Row order matters: the encoder tries a mnemonic's rows in this order (NASM's preference order).

import { CONDITION_CODES, hex2, type FormRow } from './form-builder';

const SENSITIVE = { virt: 'sensitive-unprivileged' } as const;
const PRIVILEGED = { virt: 'privileged', priv: 'cpl0' } as const;

function conditionalRows(): FormRow[] {
  const rows: FormRow[] = [];
  CONDITION_CODES.forEach(([cc, reads], code) => {
    rows.push([`CMOV${cc.toUpperCase()} Gv,Ev`, `0F ${hex2(0x40 + code)} /r`, { r: reads }]);
  });
  CONDITION_CODES.forEach(([cc, reads], code) => {
    rows.push([`SET${cc.toUpperCase()} Eb`, `0F ${hex2(0x90 + code)} /r`, { r: reads }]);
  });
  return rows;
}

export const DATA_ROWS: readonly FormRow[] = [
  // NASM tries the moffs forms first (mov eax,[0x1000] is A1, not 8B 05).
  ['MOV AL,Ob', 'A0'],
  ['MOV eAX,Ov', 'A1'],
  ['MOV Ob,AL', 'A2'],
  ['MOV Ov,eAX', 'A3'],
  ['MOV Eb,Gb', '88 /r'],
  ['MOV Ev,Gv', '89 /r'],
  ['MOV Gb,Eb', '8A /r'],
  ['MOV Gv,Ev', '8B /r'],
  // MOV r/m, Sreg reveals the RPL of CS/SS (Robin & Irvine); MOV Sreg, r/m is a descriptor load.
  ['MOV Ev,Sw', '8C /r', SENSITIVE],
  ['MOV Sw,Ev', '8E /r', { virt: 'sensitive-unprivileged', block: true }],
  ['MOV Zb,Ib', 'B0+r'],
  ['MOV Zv,Iz', 'B8+r'],
  ['MOV Eb,Ib', 'C6 /0'],
  ['MOV Ev,Iz', 'C7 /0'],
  ['MOV Rd,Cd', '0F 20 /r', { ...PRIVILEGED, u: 'copsza' }],
  ['MOV Cd,Rd', '0F 22 /r', { ...PRIVILEGED, u: 'copsza', block: true }],
  ['MOV Rd,Dd', '0F 21 /r', { ...PRIVILEGED, u: 'copsza' }],
  ['MOV Dd,Rd', '0F 23 /r', { ...PRIVILEGED, u: 'copsza', block: true }],
  ['MOVZX Gv,Eb', '0F B6 /r'],
  ['MOVZX Gv,Ew', '0F B7 /r'],
  ['MOVSX Gv,Eb', '0F BE /r'],
  ['MOVSX Gv,Ew', '0F BF /r'],
  ['LEA Gv,M', '8D /r'],
  ['XCHG eAX,Zv', '90+r'],
  ['XCHG Gb,Eb', '86 /r', { lock: true }],
  ['XCHG Gv,Ev', '87 /r', { lock: true }],
  ['XADD Eb,Gb', '0F C0 /r', { lock: true, w: 'copsza' }],
  ['XADD Ev,Gv', '0F C1 /r', { lock: true, w: 'copsza' }],
  ['CMPXCHG Eb,Gb', '0F B0 /r', { lock: true, w: 'copsza' }],
  ['CMPXCHG Ev,Gv', '0F B1 /r', { lock: true, w: 'copsza' }],
  ['BSWAP Zv', '0F C8+r', { osize: 32 }],
  ...conditionalRows(),
  ['PUSH Zv', '50+r'],
  ['PUSH Ibs', '6A ib'],
  ['PUSH Iz', '68 iz'],
  ['PUSH Ev', 'FF /6'],
  ['PUSH ES', '06', SENSITIVE],
  ['PUSH CS', '0E', SENSITIVE],
  ['PUSH SS', '16', SENSITIVE],
  ['PUSH DS', '1E', SENSITIVE],
  ['PUSH FS', '0F A0', SENSITIVE],
  ['PUSH GS', '0F A8', SENSITIVE],
  ['POP Zv', '58+r'],
  ['POP Ev', '8F /0'],
  ['POP ES', '07', { virt: 'sensitive-unprivileged', block: true }],
  ['POP SS', '17', { virt: 'sensitive-unprivileged', block: true }],
  ['POP DS', '1F', { virt: 'sensitive-unprivileged', block: true }],
  ['POP FS', '0F A1', { virt: 'sensitive-unprivileged', block: true }],
  ['POP GS', '0F A9', { virt: 'sensitive-unprivileged', block: true }],
  ['PUSHAD', '60', { name: 'pusha', osize: 32 }],
  ['PUSHA', '60', { name: 'pushaw', osize: 16 }],
  ['POPAD', '61', { name: 'popa', osize: 32 }],
  ['POPA', '61', { name: 'popaw', osize: 16 }],
  ['PUSHFD', '9C', { name: 'pushf', osize: 32, r: 'x', ...SENSITIVE }],
  ['PUSHF', '9C', { name: 'pushfw', osize: 16, r: 'x', ...SENSITIVE }],
  ['POPFD', '9D', { name: 'popf', osize: 32, w: 'x', block: true, ...SENSITIVE }],
  ['POPF', '9D', { name: 'popfw', osize: 16, w: 'x', block: true, ...SENSITIVE }],
  ['LAHF', '9F', { r: 'szapc' }],
  ['SAHF', '9E', { w: 'szapc' }],
  ['CBW', '98', { osize: 16 }],
  ['CWDE', '98', { osize: 32 }],
  ['CWD', '99', { osize: 16 }],
  ['CDQ', '99', { osize: 32 }],
  ['ENTER Iw,Ib', 'C8 iw ib'],
  ['LEAVE', 'C9'],
];
