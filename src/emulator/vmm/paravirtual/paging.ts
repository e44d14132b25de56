// The paging hypercalls of the paravirtual engine (Xen direct paging; virtualization.md §5 "Paging"): the
// hypercall side of ../memory/directPaging.ts. mmu_update applies a batch of validated {ptr, val} requests,
// update_va_mapping changes the PTE of one linear address with an optional INVLPG or TLB flush, mmuext_op pins
// and unpins page directories, flushes, and switches address spaces (MMUEXT_NEW_BASEPTR, the PV "mov cr3").
// The first new_baseptr also turns paging on (a Multiboot PV guest starts with paging off): real CR3 = the
// validated directory, CR0.PG and CR0.WP set — WP because the guest kernel runs at CPL 1, a supervisor level,
// and without it the read-only mappings of page-table pages would not stop it (SDM Vol. 3A 4.6.1).
// Requests are read from guest linear addresses, as Xen reads them from guest virtual memory.

import type { Cpu } from '../../cpu/cpu';
import { CR, Cr0 } from '../../cpu/stateLayout';
import { HypercallConstants as K, HypercallError } from '../hypercalls';
import { DirectPaging, type PagingResult } from '../memory/directPaging';
import type { CpuGuestAccess } from '../trapAndEmulate/cpuGuestAccess';
import type { VirtualCpu } from '../trapAndEmulate/virtualCpu';

/** At most this many requests per mmu_update / mmuext_op call (bounds the VMM's work per hypercall). */
export const MAX_MMU_REQUESTS = 1024;

export class PvPaging {
  /** The last refused request, for the trace and the debugger ("why did my mmu_update fail?"). */
  lastProblem = '';

  constructor(
    readonly tables: DirectPaging,
    private readonly cpu: Cpu,
    private readonly guest: CpuGuestAccess,
    private readonly vcpu: VirtualCpu,
  ) {}

  get pagingEnabled(): boolean {
    return (this.cpu.s[CR]! & Cr0.PG) !== 0;
  }

  /** mmu_update(requests, count, done, DOMID_SELF): requests are {u64 ptr, u64 val}; only the low words count. */
  mmuUpdate(requests: number, count: number, done: number, domain: number): number {
    this.tables.counters.mmuUpdates++;
    if (domain !== K.DOMID_SELF) return this.fail('EINVAL', `mmu_update for domain 0x${domain.toString(16)}: only DOMID_SELF exists`);
    if (count > MAX_MMU_REQUESTS) return this.fail('EINVAL', `mmu_update with ${count} requests (at most ${MAX_MMU_REQUESTS})`);
    let completed = 0;
    let result = 0;
    let flush = false;
    for (; completed < count; completed++) {
      const entry = requests + completed * 16;
      const pointer = this.guest.readLinear(entry, 4);
      const value = this.guest.readLinear(entry + 8, 4);
      if (pointer === undefined || value === undefined) {
        result = this.fail('EFAULT', `mmu_update request ${completed} at 0x${entry.toString(16)} is not readable`);
        break;
      }
      const applied = this.tables.updateEntry(pointer, value);
      if (!applied.ok) {
        result = this.refused(applied);
        break;
      }
      flush ||= applied.newTables;
    }
    if (flush) this.flushTlb(true);
    if (done !== 0) this.guest.writeLinear(done, 4, completed);
    return result;
  }

  /** update_va_mapping(va, pte, flags): the PTE that maps `va` in the current address space. */
  updateVaMapping(linear: number, pte: number, flags: number): number {
    if (!this.pagingEnabled) return this.fail('EINVAL', 'update_va_mapping before paging is on (no new_baseptr yet)');
    const pointer = this.tables.pteAddress(this.cpu.s[CR + 3]! >>> 12, linear);
    if (pointer === undefined) return this.fail('EINVAL', `update_va_mapping: no page table maps linear 0x${(linear >>> 0).toString(16)}`);
    const applied = this.tables.updateEntry(pointer, pte);
    if (!applied.ok) return this.refused(applied);
    this.tables.counters.vaMappingUpdates++;
    if (applied.newTables || (flags & 3) === K.UVMF_TLB_FLUSH) this.flushTlb(false);
    else if ((flags & 3) === K.UVMF_INVLPG) this.invlpg(linear);
    return 0;
  }

  /** mmuext_op(ops, count, done, DOMID_SELF): entries {u32 cmd, u32 arg1, u32 arg2}. */
  mmuextOp(ops: number, count: number, done: number, domain: number): number {
    if (domain !== K.DOMID_SELF) return this.fail('EINVAL', `mmuext_op for domain 0x${domain.toString(16)}: only DOMID_SELF exists`);
    if (count > MAX_MMU_REQUESTS) return this.fail('EINVAL', `mmuext_op with ${count} operations (at most ${MAX_MMU_REQUESTS})`);
    let completed = 0;
    let result = 0;
    for (; completed < count; completed++) {
      const entry = ops + completed * 12;
      const command = this.guest.readLinear(entry, 4);
      const argument = this.guest.readLinear(entry + 4, 4);
      if (command === undefined || argument === undefined) {
        result = this.fail('EFAULT', `mmuext_op entry ${completed} at 0x${entry.toString(16)} is not readable`);
        break;
      }
      result = this.extendedOperation(command, argument);
      if (result !== 0) break;
    }
    if (done !== 0) this.guest.writeLinear(done, 4, completed);
    return result;
  }

  private extendedOperation(command: number, argument: number): number {
    switch (command) {
      case K.MMUEXT_PIN_L2_TABLE: {
        const pinned = this.tables.pinDirectory(argument);
        if (!pinned.ok) return this.refused(pinned);
        if (pinned.newTables) this.flushTlb(true);
        return 0;
      }
      case K.MMUEXT_UNPIN_TABLE: {
        const current = this.pagingEnabled ? this.cpu.s[CR + 3]! >>> 12 : -1;
        const released = this.tables.unpinDirectory(argument, current);
        return released.ok ? 0 : this.refused(released);
      }
      case K.MMUEXT_NEW_BASEPTR:
        return this.newBaseptr(argument);
      case K.MMUEXT_TLB_FLUSH_LOCAL:
        this.flushTlb(false);
        return 0;
      case K.MMUEXT_INVLPG_LOCAL:
        this.invlpg(argument);
        return 0;
      default:
        return this.fail('EINVAL', `mmuext_op command ${command} is not supported`);
    }
  }

  /** MMUEXT_NEW_BASEPTR: validate (pin) the directory, load it into the real CR3; the first one enables paging. */
  private newBaseptr(frame: number): number {
    const pinned = this.tables.pinDirectory(frame);
    if (!pinned.ok) return this.refused(pinned);
    const s = this.cpu.s;
    s[CR + 3] = (frame << 12) | 0;
    this.vcpu.cr3 = (frame << 12) >>> 0;
    this.tables.counters.baseptrSwitches++;
    if ((s[CR]! & Cr0.PG) === 0) {
      s[CR] = s[CR]! | Cr0.PG | Cr0.WP;
      this.vcpu.cr0 = (this.vcpu.cr0 | Cr0.PG | Cr0.WP) >>> 0;
      this.flushTlb(true);
    } else {
      this.flushTlb(pinned.newTables);
    }
    return 0;
  }

  private flushTlb(all: boolean): void {
    this.cpu.mmu.flush(all);
    this.tables.counters.tlbFlushes++;
  }

  private invlpg(linear: number): void {
    this.cpu.mmu.invalidatePage(linear);
    this.tables.counters.invlpgs++;
  }

  private refused(result: PagingResult): number {
    if (result.ok) return 0;
    this.lastProblem = result.problem;
    return HypercallError[result.error];
  }

  private fail(error: 'EINVAL' | 'EFAULT', problem: string): number {
    this.tables.counters.rejectedUpdates++;
    this.lastProblem = problem;
    return HypercallError[error];
  }
}
