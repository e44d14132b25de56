// System and VMX rows of the instruction table (Intel SDM Vol. 2 and Vol. 3 2.8 "System Instruction
// Summary"; VMX instructions per Vol. 3C chapter 31 / Vol. 2 "VMX Instruction Reference").
// Classes: CPL0-only instructions are privileged; SGDT/SIDT/SLDT/STR/SMSW/LAR/LSL/VERR/VERW are
// sensitive but unprivileged (Robin & Irvine 2000); IN/OUT/CLI/STI depend on IOPL; CPUID, INVD and the
// VMX instructions exit unconditionally in VMX non-root operation (Vol. 3C 26.1.2).

import type { FormRow } from './form-builder';

const PRIVILEGED = { virt: 'privileged', priv: 'cpl0' } as const;
const SENSITIVE = { virt: 'sensitive-unprivileged' } as const;
const IO = { virt: 'io-sensitive', priv: 'iopl' } as const;
const VMX = { virt: 'vmx-exits', priv: 'cpl0', w: 'copsza', block: true } as const;

export const SYSTEM_ROWS: readonly FormRow[] = [
  ['CLI', 'FA', { ...IO, w: 'i' }],
  ['STI', 'FB', { ...IO, w: 'i', block: true }],
  ['HLT', 'F4', { ...PRIVILEGED, block: true }],
  ['CLTS', '0F 06', PRIVILEGED],
  ['SGDT Ms', '0F 01 /0', { ...SENSITIVE, mod: 'mem' }],
  ['SIDT Ms', '0F 01 /1', { ...SENSITIVE, mod: 'mem' }],
  ['LGDT Ms', '0F 01 /2', { ...PRIVILEGED, mod: 'mem', block: true }],
  ['LIDT Ms', '0F 01 /3', { ...PRIVILEGED, mod: 'mem' }],
  ['SMSW Ev', '0F 01 /4', SENSITIVE],
  ['LMSW Ew', '0F 01 /6', { ...PRIVILEGED, block: true }],
  ['INVLPG M', '0F 01 /7', { ...PRIVILEGED, mod: 'mem' }],
  ['SLDT Ev', '0F 00 /0', SENSITIVE],
  ['STR Ev', '0F 00 /1', SENSITIVE],
  ['LLDT Ew', '0F 00 /2', PRIVILEGED],
  ['LTR Ew', '0F 00 /3', PRIVILEGED],
  ['VERR Ew', '0F 00 /4', { ...SENSITIVE, w: 'z' }],
  ['VERW Ew', '0F 00 /5', { ...SENSITIVE, w: 'z' }],
  ['LAR Gv,Ew', '0F 02 /r', { ...SENSITIVE, w: 'z' }],
  ['LSL Gv,Ew', '0F 03 /r', { ...SENSITIVE, w: 'z' }],
  ['ARPL Ew,Gw', '63 /r', { w: 'z' }],
  ['INVD', '0F 08', { virt: 'vmx-exits', priv: 'cpl0' }],
  ['WBINVD', '0F 09', PRIVILEGED],
  ['CPUID', '0F A2', { virt: 'vmx-exits' }],
  ['RDTSC', '0F 31'],
  ['RDMSR', '0F 32', PRIVILEGED],
  ['WRMSR', '0F 30', { ...PRIVILEGED, block: true }],
  ['IN AL,Ib', 'E4 ib', IO],
  ['IN eAX,Ib', 'E5 ib', IO],
  ['IN AL,DX', 'EC', IO],
  ['IN eAX,DX', 'ED', IO],
  ['OUT Ib,AL', 'E6 ib', IO],
  ['OUT Ib,eAX', 'E7 ib', IO],
  ['OUT DX,AL', 'EE', IO],
  ['OUT DX,eAX', 'EF', IO],
  ['SYSENTER', '0F 34', { ...SENSITIVE, w: 'ir', block: true }],
  ['SYSEXIT', '0F 35', { ...PRIVILEGED, block: true }],
  ['UD2', '0F 0B', { block: true }],
  ['PAUSE', 'F3 90'],
  // 66 90 is `xchg ax,ax` for ndisasm; plain 90 is NOP.
  ['NOP', '90', { osize: 32 }],
  ['NOP Ev', '0F 1F /0'],
];

export const VMX_ROWS: readonly FormRow[] = [
  ['VMXON Mq', 'F3 0F C7 /6', { ...VMX, mod: 'mem' }],
  ['VMCLEAR Mq', '66 0F C7 /6', { ...VMX, mod: 'mem' }],
  ['VMPTRLD Mq', '0F C7 /6', { ...VMX, mod: 'mem' }],
  ['VMPTRST Mq', '0F C7 /7', { ...VMX, mod: 'mem' }],
  ['VMREAD Ed,Gd', '0F 78 /r', VMX],
  ['VMWRITE Gd,Ed', '0F 79 /r', VMX],
  ['VMCALL', '0F 01 C1', { ...VMX, priv: 'any' }],
  ['VMLAUNCH', '0F 01 C2', VMX],
  ['VMRESUME', '0F 01 C3', VMX],
  ['VMXOFF', '0F 01 C4', VMX],
  ['INVEPT Gd,M', '66 0F 38 80 /r', { ...VMX, mod: 'mem' }],
  ['INVVPID Gd,M', '66 0F 38 81 /r', { ...VMX, mod: 'mem' }],
];
