// The virtual CPU of the trap-and-emulate engine: the privileged state the deprivileged guest kernel believes
// it has (virtual CPL 0, its own IF, CR0-CR4, GDTR/IDTR/LDTR/TR), kept apart from the real CPU, which runs the
// kernel at CPL 1 with IOPL 0 under VMM-owned tables. Handlers change only this object; the debugger shows it
// next to the real CPU state. Serialisable (snapshots, reverse debugging).

import type { TableRegister, VirtualCpuState } from '../engine';

/** Queue bound for virtual interrupts waiting for the virtual IF (a flood is reported, never grown forever). */
export const MAX_PENDING_VECTORS = 256;

export interface VirtualCpuSnapshot extends VirtualCpuState {
  readonly halted: boolean;
}

export class VirtualCpu {
  /** 0 while the guest kernel runs (real CPL 1), 3 while guest user code runs. */
  cpl = 0;
  interruptFlag = false;
  iopl = 0;
  cr0 = 0x11; // PE | ET, as after a Multiboot loader (SDM Vol. 3A 9.1.1 plus PE)
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  gdtr: TableRegister = { base: 0, limit: 0 };
  idtr: TableRegister = { base: 0, limit: 0x3ff };
  ldtr = 0;
  tr = 0;
  /** HLT emulated: the guest waits for a virtual interrupt. */
  halted = false;
  /** The guest changed GDTR (or a descriptor the VMM shadows): the real GDT must be rebuilt before resuming. */
  tablesDirty = false;
  private readonly pending: number[] = [];

  /** Queues a virtual interrupt vector; false when the queue is full (the engine reports an interrupt flood). */
  raise(vector: number): boolean {
    if (this.pending.length >= MAX_PENDING_VECTORS) return false;
    this.pending.push(vector & 0xff);
    return true;
  }

  /** The next vector deliverable now (virtual IF = 1), removed from the queue. */
  takeDeliverable(): number | undefined {
    if (!this.interruptFlag || this.pending.length === 0) return undefined;
    return this.pending.shift();
  }

  get pendingVectors(): readonly number[] {
    return this.pending;
  }

  snapshot(): VirtualCpuSnapshot {
    return {
      cpl: this.cpl,
      interruptFlag: this.interruptFlag,
      iopl: this.iopl,
      cr0: this.cr0,
      cr2: this.cr2,
      cr3: this.cr3,
      cr4: this.cr4,
      gdtr: { ...this.gdtr },
      idtr: { ...this.idtr },
      ldtr: this.ldtr,
      tr: this.tr,
      pendingVectors: [...this.pending],
      halted: this.halted,
    };
  }

  restore(state: VirtualCpuSnapshot): void {
    this.cpl = state.cpl;
    this.interruptFlag = state.interruptFlag;
    this.iopl = state.iopl;
    this.cr0 = state.cr0;
    this.cr2 = state.cr2;
    this.cr3 = state.cr3;
    this.cr4 = state.cr4;
    this.gdtr = { ...state.gdtr };
    this.idtr = { ...state.idtr };
    this.ldtr = state.ldtr;
    this.tr = state.tr;
    this.halted = state.halted;
    this.pending.length = 0;
    this.pending.push(...state.pendingVectors);
    this.tablesDirty = true;
  }
}
