// Test kit for VMX on HyperStep's CPU: NASM source of a minimal root-mode VMM (paging on with 4-MiB identity
// pages because IA32_VMX_CR0_FIXED0 demands PG, IA32_FEATURE_CONTROL locked, VMXON, VMCLEAR/VMPTRLD, a flat
// guest and host state) that a test completes with its own controls, guest code and exit handler.

import { Cpu } from '../../../src/emulator/cpu/cpu';
import { bootFlat, createMachine, nasm, type TestMachine } from '../cpu/harness';
import type { VmxUnit } from '../../../src/emulator/vmx/vmxUnit';

/** Physical layout used by the kit (all below 1 MiB, code at 0x10000). */
export const KIT = { vmxon: 0x20000, vmcs: 0x21000, pageDirectory: 0x22000, guestStack: 0x30000, hostStack: 0x38000, ioBitmapA: 0x23000, ioBitmapB: 0x24000 } as const;

/** `vmwrite` of an immediate (clobbers eax, ebx). */
export function write(field: number, value: string | number): string {
  return `mov eax, ${field}\n mov ebx, ${value}\n vmwrite eax, ebx`;
}

/** Prologue: paging, VMXON, VMCS current, guest = a flat copy of the host's segments with RIP = guest_entry. */
export const PROLOGUE = `
  mov edi, ${KIT.pageDirectory}
  mov eax, 0x87
  mov ecx, 1024
.pd: mov [edi], eax
  add eax, 0x400000
  add edi, 4
  loop .pd
  mov eax, ${KIT.pageDirectory}
  mov cr3, eax
  mov eax, cr4
  or eax, 0x2010          ; VMXE | PSE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000020      ; PG | NE
  mov cr0, eax
  mov ecx, 0x3a           ; IA32_FEATURE_CONTROL: lock | VMXON outside SMX
  mov eax, 5
  xor edx, edx
  wrmsr
  mov ecx, 0x480          ; IA32_VMX_BASIC: revision identifier
  rdmsr
  mov [${KIT.vmxon}], eax
  mov [${KIT.vmcs}], eax
  vmxon [vmxon_ptr]
  vmclear [vmcs_ptr]
  vmptrld [vmcs_ptr]
`;

/** VMCS setup for a flat 32-bit ring-0 guest and host (selectors from the test harness GDT). */
export function flatGuestAndHost(guestEntry: string, hostEntry: string): string {
  const lines: string[] = [];
  const w = (f: number, v: string | number): void => { lines.push(write(f, v)); };
  // Controls: the capability MSRs' allowed-0 settings (read at run time) plus the test's extra bits.
  for (const [field, msr] of [[0x4000, 0x481], [0x4002, 0x482], [0x400c, 0x483], [0x4012, 0x484]] as const) {
    lines.push(`mov ecx, ${msr}\n rdmsr\n mov ebx, eax\n mov eax, ${field}\n vmwrite eax, ebx`);
  }
  w(0x2800, 0xffffffff); w(0x2801, 0xffffffff); // VMCS link pointer
  for (const [base, value] of [[0x6800, 'cr0'], [0x6802, 'cr3'], [0x6804, 'cr4']] as const) {
    lines.push(`mov ebx, ${value}\n mov eax, ${base}\n vmwrite eax, ebx\n mov eax, ${base + 0x400}\n vmwrite eax, ebx`);
  }
  for (let seg = 0; seg < 6; seg++) {
    const selector = seg === 1 ? 0x08 : 0x10;
    w(0x0800 + 2 * seg, selector); w(0x0c00 + 2 * seg, selector);
    w(0x6806 + 2 * seg, 0); w(0x4800 + 2 * seg, 0xffffffff); w(0x4814 + 2 * seg, seg === 1 ? 0xc09b : 0xc093);
  }
  w(0x080e, 0x28); w(0x0c0c, 0x28); w(0x6814, 0x1800); w(0x6c0a, 0x1800); w(0x480e, 0x67); w(0x4822, 0x8b);
  w(0x4820, 0x10000); // LDTR unusable
  w(0x6816, 0x800); w(0x4810, 0x5f); w(0x6c0c, 0x800);
  w(0x6818, 0x1000); w(0x4812, 0x7ff); w(0x6c0e, 0x1000);
  w(0x6820, 2); w(0x681c, KIT.guestStack); w(0x681e, guestEntry);
  w(0x6c14, KIT.hostStack); w(0x6c16, hostEntry);
  return lines.join('\n');
}

export const POINTERS = `
vmxon_ptr: dd ${KIT.vmxon}, 0
vmcs_ptr: dd ${KIT.vmcs}, 0
`;

/** A VMX-enabled test machine with `source` assembled and booted flat (GDT/IDT/TSS of the harness). */
export function vmxMachine(source: string): TestMachine & { vmx: VmxUnit } {
  const machine = createMachine(8 << 20, true);
  bootFlat(machine, nasm(source));
  return { ...machine, vmx: (machine.cpu as Cpu).vmx as unknown as VmxUnit };
}
