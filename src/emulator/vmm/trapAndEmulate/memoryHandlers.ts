// The trap-and-emulate VMM's memory-virtualization handlers, as named steps like every other handler: a #PF
// taken while the real CR3 points at a shadow is a hidden fault (walk the guest tables → fill the shadow →
// restart the instruction), a tracing fault (the guest writes one of its own page tables: execute that write
// once with the page unprotected → resynchronise the shadow → resume after it) or a true fault (reflect #PF
// with the virtual CR2 and the guest's error code, SDM Vol. 3A 4.7). The shadow itself lives in
// ../memory/shadowPaging.ts; the engine supplies the hooks that touch the real CPU.

import type { ShadowFault, ShadowPageTables } from '../memory/shadowPaging';
import { step, type HandlerDefinition, type StepResult } from '../handlerSteps';
import type { TrapContext } from './handlers';

const PF = 14;

/** What the handlers need from the engine for shadow paging. */
export interface ShadowPagingHooks {
  readonly shadow: ShadowPageTables;
  /** After the guest loaded CR0, CR3 or CR4 (virtual values already set): bring the real CR0/CR3 in line. */
  controlRegistersChanged(cr3Loaded: boolean): void;
  /**
   * Runs the faulting guest instruction once on the real CPU: 'interrupted' if an event stopped it first (it is
   * retried), 'stuck' if the same instruction keeps faulting inside its write window (e.g. a write straddling
   * two guest page-table pages, which one window cannot cover).
   */
  executeGuestInstruction(): 'executed' | 'interrupted' | 'stuck';
}

/** The #PF the real CPU raised: CR2 and the error code. */
export interface RealPageFault {
  readonly linear: number;
  readonly errorCode: number;
}

const hex = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;

/** "hidden page fault at 0x00400000 (user write)". */
export function shadowFaultReason(fault: ShadowFault, linear: number, errorCode: number): string {
  const access = `${(errorCode & 4) !== 0 ? 'user' : 'kernel'} ${(errorCode & 2) !== 0 ? 'write' : 'read'}`;
  switch (fault.kind) {
    case 'hidden':
      return `hidden page fault at ${hex(linear)} (${access}): fill the shadow page table`;
    case 'tracing':
      return `tracing fault: guest ${fault.table} write at ${hex(linear)}`;
    case 'true':
      return `true page fault at ${hex(linear)} (${access}): ${fault.why}`;
    default:
      return `page fault at ${hex(linear)} into VMM-owned memory`;
  }
}

/**
 * The handler for one #PF under shadow paging. The classification (a guest walk that sets accessed/dirty
 * flags) happens in its "walk the guest page tables" step, so a debugger sees the walk as a step.
 */
export function pageFaultHandler(hooks: ShadowPagingHooks, fault: RealPageFault): HandlerDefinition<TrapContext> {
  const write = (fault.errorCode & 2) !== 0;
  const user = (fault.errorCode & 4) !== 0;
  let outcome: ShadowFault | undefined;
  let changedEntries = 0;
  const shadow = hooks.shadow;
  const steps = [
    step<TrapContext>('save guest state', (c) => {
      c.vcpu.cpl = c.guest.cpl === 3 ? 3 : 0;
      c.notes.push(`#PF at CR2 ${hex(fault.linear)}, error code ${fault.errorCode}, virtual CPL ${c.vcpu.cpl}`);
    }, 'vmmEntry'),
    step<TrapContext>('walk the guest page tables', (c): StepResult => {
      outcome = shadow.classify(fault.linear, fault.errorCode);
      c.notes.push(shadowFaultReason(outcome, fault.linear, fault.errorCode));
      switch (outcome.kind) {
        case 'true':
          shadow.counters.trueFaults++;
          return { goto: 'reflect #PF with the virtual CR2' };
        case 'vmm-memory':
          return { finish: { kind: 'stop', message: `the guest maps ${hex(outcome.physical)}, which is VMM-owned memory (the top of RAM): the VMM never maps its own memory for the guest` } };
        case 'tracing':
          shadow.counters.tracingFaults++;
          return { goto: 'execute the guest write with the page unprotected' };
        default:
          shadow.counters.hiddenFaults++;
          return undefined;
      }
    }, 'emulationStep'),
    step<TrapContext>('fill the shadow page table', (c): StepResult => {
      if (outcome?.kind !== 'hidden') return { goto: 'resume' };
      if (!shadow.fill(fault.linear, outcome.walk, write, user)) return { finish: { kind: 'stop', message: 'the VMM ran out of pages for shadow page tables' } };
      c.notes.push(`shadow entry for ${hex(fault.linear)} → machine page ${hex(outcome.walk.physical & ~0xfff)}`);
      return { goto: 'resume' };
    }, 'shadowPageFault'),
    step<TrapContext>('execute the guest write with the page unprotected', (c): StepResult => {
      if (outcome?.kind !== 'tracing') return { goto: 'resume' };
      if (!shadow.beginTracedWrite(fault.linear, outcome.walk)) return { finish: { kind: 'stop', message: 'the VMM ran out of pages for shadow page tables' } };
      const ran = hooks.executeGuestInstruction();
      if (ran === 'stuck') {
        shadow.finishTracedWrite();
        return { finish: { kind: 'stop', message: `${c.instruction?.text ?? 'a guest instruction'} keeps faulting while the VMM emulates its page-table write (a write spanning two page-table pages is not supported)` } };
      }
      c.notes.push(ran === 'executed' ? `${c.instruction?.text ?? 'the write'} executed once on the real CPU` : 'an event arrived first: the write will be retried');
      return undefined;
    }, 'emulationStep'),
    step<TrapContext>('resynchronise the shadow', (c) => {
      changedEntries = shadow.finishTracedWrite();
      c.notes.push(`${changedEntries} guest ${changedEntries === 1 ? 'entry' : 'entries'} changed: their shadow entries were invalidated`);
    }, 'shadowPteWrite'),
    step<TrapContext>('resume', () => ({ finish: { kind: 'resume' } }), 'vmmExit'),
    step<TrapContext>('reflect #PF with the virtual CR2', (c): StepResult => {
      c.vcpu.cr2 = fault.linear >>> 0;
      const errorCode = outcome?.kind === 'true' ? outcome.errorCode : fault.errorCode;
      c.notes.push(`virtual CR2 ← ${hex(fault.linear)}; #PF error code ${errorCode} from the guest's tables`);
      return { finish: { kind: 'reflect', vector: PF, errorCode } };
    }, 'interruptInjection'),
  ];
  return { name: `#PF at ${hex(fault.linear)} (shadow paging)`, layer: 'vmm', steps };
}
