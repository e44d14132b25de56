// How the built-in hardware-assisted VMM lays out its pages and programs the VM-execution, exit and entry
// controls of its VMCS from the `vmxControls` launch option (controls.ts; SDM Vol. 3C 25.6-25.8). The pages sit
// at the top of RAM (`vmmBase`): a 4-MiB identity page directory (the real CR3 while the guest does not page and
// EPT is off), I/O bitmaps A and B (25.6.4), the MSR bitmap (25.6.9), the VMCS region, the virtual-APIC page
// (25.6.8); with EPT the tables follow (lazyEpt.ts).

import type { Cpu } from '../../cpu/cpu';
import { TRUE_PROCBASED_ALLOWED0 } from '../../cpu/identity';
import { F, PinControl, Proc2Control, ProcControl } from '../../vmx/controls';
import { capability } from '../../vmx/entryChecks';
import type { Vmcs } from '../../vmx/vmcs';
import type { HardwareAssistControls } from './controls';

/** VMM-owned pages at the top of RAM: page directory, I/O bitmaps A and B, MSR bitmap, VMCS, virtual-APIC page (then the EPT). */
export const REGION_SIZE = 0x6000;
export const IO_BITMAP_A_OFFSET = 0x1000;
export const IO_BITMAP_B_OFFSET = 0x2000;
export const MSR_BITMAP_OFFSET = 0x3000;
export const VMCS_OFFSET = 0x4000;
export const VIRTUAL_APIC_OFFSET = 0x5000;
/** The guest's xAPIC page (default IA32_APIC_BASE, SDM Vol. 3A 11.4.1), named as the APIC-access page. */
export const APIC_ACCESS_ADDRESS = 0xfee00000;

/** Fills the VMM's fixed pages: identity page directory (4-MiB pages), bitmaps (the exiting ports set), virtual-APIC page. */
export function prepareVmmPages(ram: Uint8Array, vmmBase: number, exitingPorts: readonly number[]): void {
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  for (let i = 0; i < 1024; i++) view.setUint32(vmmBase + 4 * i, ((i << 22) | 0x87) >>> 0, true);
  ram.fill(0, vmmBase + IO_BITMAP_A_OFFSET, vmmBase + VMCS_OFFSET);
  for (const port of exitingPorts) ram[vmmBase + IO_BITMAP_A_OFFSET + (port >>> 3)]! |= 1 << (port & 7);
  ram.fill(0, vmmBase + VIRTUAL_APIC_OFFSET, vmmBase + VIRTUAL_APIC_OFFSET + 0x1000);
}

/** Writes the control fields (everything but the guest state, CR masks/shadows and the EPT pointer). */
export function writeControls(cpu: Cpu, vmcs: Vmcs, c: HardwareAssistControls, vmmBase: number): void {
  // With EPT the TRUE controls let CR3-load/store exiting be 0 (SDM A.3.2); without, CR3 must stay virtual.
  let primary = (c.ept ? TRUE_PROCBASED_ALLOWED0 : capability(cpu, 0x482)[0]) | ProcControl.ActivateSecondaryControls | ProcControl.UseTprShadow;
  if (c.ept && c.cr3LoadExiting) primary |= ProcControl.Cr3LoadExiting;
  if (c.ept && c.cr3StoreExiting) primary |= ProcControl.Cr3StoreExiting;
  if (c.hltExiting) primary |= ProcControl.HltExiting;
  if (c.rdtscExiting) primary |= ProcControl.RdtscExiting;
  if (c.invlpgExiting || !c.ept) primary |= ProcControl.InvlpgExiting; // shadow paging must see INVLPG
  if (c.movDrExiting) primary |= ProcControl.MovDrExiting;
  if (c.io === 'all') primary |= ProcControl.UnconditionalIoExiting;
  if (c.io === 'bitmap') primary |= ProcControl.UseIoBitmaps;
  vmcs.write(F.PIN_CONTROLS, capability(cpu, 0x481)[0] | (c.externalInterruptExiting ? PinControl.ExternalInterruptExiting : 0));
  vmcs.write(F.PROC_CONTROLS, primary);
  vmcs.write(F.PROC2_CONTROLS, Proc2Control.VirtualizeApicAccesses | (c.descriptorTableExiting ? Proc2Control.DescriptorTableExiting : 0) | (c.ept ? Proc2Control.EnableEpt | Proc2Control.UnrestrictedGuest : 0));
  vmcs.write(F.EXIT_CONTROLS, capability(cpu, 0x483)[0]);
  vmcs.write(F.ENTRY_CONTROLS, capability(cpu, 0x484)[0]);
  vmcs.write(F.EXCEPTION_BITMAP, (c.exceptionBitmap | (c.ept ? 0 : 1 << 14)) >>> 0);
  vmcs.write(F.IO_BITMAP_A, vmmBase + IO_BITMAP_A_OFFSET);
  vmcs.write(F.IO_BITMAP_B, vmmBase + IO_BITMAP_B_OFFSET);
  vmcs.write(F.MSR_BITMAP, vmmBase + MSR_BITMAP_OFFSET);
  // FlexPriority (SDM Vol. 3C 29.1-29.4): TPR accesses on the xAPIC page go to the virtual-APIC page without an
  // exit while the TPR stays at or above the threshold (0: no virtual interrupt pending); other APIC accesses exit.
  vmcs.write(F.VIRTUAL_APIC_ADDRESS, vmmBase + VIRTUAL_APIC_OFFSET);
  vmcs.write(F.APIC_ACCESS_ADDRESS, APIC_ACCESS_ADDRESS);
  vmcs.write(F.TPR_THRESHOLD, 0);
  vmcs.write(F.VMCS_LINK_POINTER, 0xffffffff);
  vmcs.write(F.VMCS_LINK_POINTER + 1, 0xffffffff);
}
