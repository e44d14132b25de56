// The CPU's one hook into VMX operation (src/emulator/vmx, issue 6). `Cpu.vmx` is set only when the machine
// enables VMX (features.vmx). The CPU calls it for VMX instructions with CR4.VMXE = 1 (exec/system.ts); in
// VMX non-root operation the decoder routes every form `mayExit` accepts through dispatch.ts
// `nonRootHandler`, and interrupts.ts asks `eventExits` before delivering an exception, an external
// interrupt or entering shutdown. The unit performs VM exits itself (host state, or a stop for a software host).

import type { Cpu } from './cpu';
import type { Insn } from './insn';

/**
 * A physical page outside RAM whose accesses the MMU hands to VMX instead of the bus while it is armed (VMX
 * "virtualize APIC accesses", vmx/apicVirtualization.ts). Either call may throw the CPU's GuestFault with the
 * pseudo-vector VMX_MEMORY_EXIT (a fault-like VM exit) or perform a trap-like VM exit itself.
 */
export interface PhysicalInterposer {
  /** Page number (physical address >>> 12) the interposer claims; -1 when none. */
  readonly page: number;
  read(address: number, size: 1 | 2 | 4): number;
  write(address: number, size: 1 | 2 | 4, value: number): void;
}

export interface VmxHooks {
  /** In VMX non-root operation. */
  readonly nonRoot: boolean;
  /** Decode time, non-root only: may this form exit (or behave differently) under VMX controls? */
  mayExit(formIndex: number): boolean;
  /** A VMX instruction with CR4.VMXE = 1 outside non-root operation. */
  execute(cpu: Cpu, insn: Insn): void;
  /** Non-root: 'exit' (a VM exit happened), 'done' (the unit completed the instruction) or 'run'. */
  instructionExits(cpu: Cpu, insn: Insn): 'run' | 'done' | 'exit';
  /**
   * Non-root: true when the event caused a VM exit instead of being delivered. `idtVectoring` (non-zero) marks
   * an exception raised while delivering another event, which that information names (SDM Vol. 3C 28.2.4).
   */
  eventExits(kind: 'exception' | 'external-interrupt' | 'triple-fault', vector: number, errorCode: number, idtVectoring?: number, idtVectoringError?: number): boolean;
  /**
   * Non-root with EPT: the EPT violation or misconfiguration just thrown (ept.ts VMX_MEMORY_EXIT) becomes a VM
   * exit at the current EIP; `idtVectoring` (0 if none) names an event whose delivery it interrupted.
   */
  memoryExit(idtVectoring: number, idtVectoringError: number): void;
  /** Plain-data VMX state for CPU snapshots, and its restore (undefined: leave unchanged). */
  saveState(): unknown;
  loadState(snapshot: unknown): void;
  /** Processor RESET: leave VMX operation. */
  reset(): void;
}
