// Delivery of an exception or interrupt to the deprivileged guest through its VIRTUAL IDT: what the CPU would
// have done had the guest kernel really run at CPL 0 (SDM Vol. 3A 6.12 "Exception and Interrupt Handling",
// 6.12.1 stack switch on a privilege change, Figure 6-4 stack usage, 6.14 error codes), done in software by the
// VMM because the real IDT is the VMM's. The frame carries VIRTUAL values: CS with RPL = virtual CPL and
// EFLAGS with the virtual IF/IOPL, so the guest's handler sees what bare metal would show it. Descriptor
// fields: SDM Vol. 3A 6.11 (gates), 3.4.5 (segment descriptors), 7.2.1 (TSS: ESP0 at +4, SS0 at +8).

import { EflagsBit, SegmentRegister, type GuestCpuAccess } from './guestAccess';
import type { VirtualCpu } from './virtualCpu';

export type DeliverySource = 'hardware-exception' | 'software-interrupt' | 'external-interrupt';

export type DeliveryResult =
  | { readonly ok: true; readonly vector: number; readonly handler: number; readonly stackSwitched: boolean }
  | { readonly ok: false; readonly problem: string; readonly redirectTo?: { readonly vector: number; readonly errorCode: number } };

const GATE_TASK = 0x05;
const GATE_INTERRUPT_32 = 0x0e;
const GATE_TRAP_32 = 0x0f;
/** EFLAGS bits the CPU clears on delivery through any gate (TF, NT, RF, VM; SDM 6.12.1). */
const CLEARED_ON_DELIVERY = (1 << 8) | EflagsBit.NT | EflagsBit.RF | EflagsBit.VM;

/** EFLAGS as the guest should see them: real arithmetic/control bits, virtual IF and IOPL. */
export function virtualizedEflags(realEflags: number, vcpu: VirtualCpu): number {
  return ((realEflags & ~(EflagsBit.IF | EflagsBit.IOPL)) | (vcpu.interruptFlag ? EflagsBit.IF : 0) | ((vcpu.iopl & 3) << 12)) >>> 0;
}

/** Real selector for a guest kernel selector: ring compression puts virtual ring 0 at RPL 1. */
export function compressedSelector(selector: number): number {
  return (selector & 3) === 0 ? selector | 1 : selector;
}

/** Reads a guest GDT descriptor (low, high dwords) through the virtual GDTR. */
function guestDescriptor(guest: GuestCpuAccess, vcpu: VirtualCpu, selector: number): [number, number] | undefined {
  const index = selector & ~7;
  if ((selector & 4) !== 0 || index === 0 || index + 7 > vcpu.gdtr.limit) return undefined;
  const low = guest.readLinear(vcpu.gdtr.base + index, 4);
  const high = guest.readLinear(vcpu.gdtr.base + index + 4, 4);
  return low === undefined || high === undefined ? undefined : [low, high];
}

function descriptorBase(low: number, high: number): number {
  return ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
}

/**
 * Delivers `vector` to the guest as if through its IDT. `errorCode` < 0: none. For software interrupts EIP
 * must already point after the INT instruction; for faults at the faulting instruction.
 */
export function deliverToGuest(guest: GuestCpuAccess, vcpu: VirtualCpu, vector: number, errorCode: number, source: DeliverySource): DeliveryResult {
  const gateOffset = vector * 8;
  if (gateOffset + 7 > vcpu.idtr.limit) {
    return { ok: false, problem: `vector ${vector} lies beyond the guest IDT limit`, redirectTo: { vector: 13, errorCode: gateOffset + 2 } };
  }
  const low = guest.readLinear(vcpu.idtr.base + gateOffset, 4);
  const high = guest.readLinear(vcpu.idtr.base + gateOffset + 4, 4);
  if (low === undefined || high === undefined) return { ok: false, problem: `the guest IDT entry for vector ${vector} is unreadable` };
  const type = (high >>> 8) & 0x1f;
  const present = (high & 0x8000) !== 0;
  const gateDpl = (high >>> 13) & 3;
  if (source === 'software-interrupt' && gateDpl < vcpu.cpl) {
    // SDM 6.12.1.1: INT n through a gate with DPL < CPL raises #GP with the IDT vector as error code.
    return { ok: false, problem: `int 0x${vector.toString(16)} through a DPL-${gateDpl} gate at CPL${vcpu.cpl}`, redirectTo: { vector: 13, errorCode: gateOffset + 2 } };
  }
  if (!present) return { ok: false, problem: `the guest IDT gate for vector ${vector} is not present`, redirectTo: { vector: 11, errorCode: gateOffset + 2 } };
  if (type === GATE_TASK) {
    return { ok: false, problem: `the guest IDT gate for vector ${vector} is a task gate: hardware task switches are not virtualized by this VMM` };
  }
  if (type !== GATE_INTERRUPT_32 && type !== GATE_TRAP_32) {
    return { ok: false, problem: `the guest IDT gate for vector ${vector} has type ${type} (only 32-bit interrupt and trap gates are emulated)` };
  }
  const targetSelector = low >>> 16;
  const handler = ((low & 0xffff) | (high & 0xffff0000)) >>> 0;
  const codeDescriptor = guestDescriptor(guest, vcpu, targetSelector);
  if (codeDescriptor === undefined) return { ok: false, problem: `the gate for vector ${vector} names selector 0x${targetSelector.toString(16)}, not in the guest GDT` };
  // DPL 0 (a guest written for bare metal) and DPL 1 (a paravirtual guest's FLAT_RING1_CS) are both the
  // virtual kernel; ring 2 is not virtualized.
  const descriptorDpl = (codeDescriptor[1] >>> 13) & 3;
  if (descriptorDpl === 2) return { ok: false, problem: 'handler code segment DPL 2 (only the kernel and ring 3 are virtualized)' };
  const targetDpl = descriptorDpl <= 1 ? 0 : 3;

  const eflags = virtualizedEflags(guest.getEflags(), vcpu);
  const oldCs = guest.getSelector(SegmentRegister.CS);
  const shownCs = vcpu.cpl === 0 ? oldCs & ~3 : oldCs;
  const oldEip = guest.getEip();
  const frame: number[] = [];
  let stackSwitched = false;
  if (targetDpl < vcpu.cpl) {
    // Privilege change: the new stack comes from the guest's TSS (SS0:ESP0), SDM 6.12.1.
    const tss = guestDescriptor(guest, vcpu, vcpu.tr);
    if (tss === undefined) return { ok: false, problem: 'no guest TSS (virtual TR) for a ring-3 to ring-0 transfer' };
    const tssBase = descriptorBase(tss[0], tss[1]);
    const esp0 = guest.readLinear(tssBase + 4, 4);
    const ss0 = guest.readLinear(tssBase + 8, 2);
    if (esp0 === undefined || ss0 === undefined) return { ok: false, problem: 'the guest TSS is unreadable' };
    frame.push(guest.getSelector(SegmentRegister.SS), guest.getGpr(4));
    if (!guest.loadSegment(SegmentRegister.SS, compressedSelector(ss0))) {
      return { ok: false, problem: `the guest TSS.SS0 0x${ss0.toString(16)} cannot be loaded`, redirectTo: { vector: 10, errorCode: ss0 & ~3 } };
    }
    guest.setGpr(4, esp0);
    stackSwitched = true;
  }
  frame.push(eflags, shownCs, oldEip);
  if (errorCode >= 0) frame.push(errorCode);
  let esp = guest.getGpr(4);
  const ssBase = guest.getSegmentBase(SegmentRegister.SS);
  for (const value of frame) {
    esp = (esp - 4) | 0;
    if (!guest.writeLinear((ssBase + esp) >>> 0, 4, value >>> 0)) return { ok: false, problem: 'the guest stack is not writable while delivering' };
  }
  guest.setGpr(4, esp);
  if (!guest.loadSegment(SegmentRegister.CS, targetDpl === 0 ? compressedSelector(targetSelector) : targetSelector)) {
    return { ok: false, problem: `cannot load the handler code selector 0x${targetSelector.toString(16)}` };
  }
  guest.setEip(handler);
  guest.setEflags(guest.getEflags() & ~CLEARED_ON_DELIVERY);
  vcpu.cpl = targetDpl;
  if (type === GATE_INTERRUPT_32) vcpu.interruptFlag = false;
  vcpu.halted = false;
  return { ok: true, vector, handler, stackSwitched };
}
