// Hardware assist with EPT off: shadow page tables (../memory/shadowPaging.ts, the module trap-and-emulate
// uses) for guests that enable paging. The VMM owns CR0.PG/WP (guest/host mask), keeps CR3 virtual (CR3-load
// exiting), makes every #PF exit (exception bitmap bit 14) and INVLPG exit, and points the real CR3 at the
// shadow directory of the guest's current address space: a #PF is a hidden fault (fill the shadow), a
// tracing fault (the guest writes its own page table: executed once with the page unprotected, then the
// shadow is resynchronised) or a true fault (injected into the guest; CR2 already holds the address, VMX does
// not virtualise it). Adams & Agesen 2006 §2.4; virtualization.md §7. VMM pages come from a VmmRegion at the
// top of RAM whose fixed area also holds the engine's identity page directory, bitmaps and VMCS; unlike
// trap-and-emulate and BT, the shadows map no VMM window: the guest's linear space holds its own mappings only.

import type { Cpu } from '../../cpu/cpu';
import { CR } from '../../cpu/stateLayout';
import { ShadowPageTables } from '../memory/shadowPaging';
import { VmmRegion } from '../trapAndEmulate/vmmRegion';
import { step, type HandlerDefinition, type StepResult } from '../handlerSteps';

/** Fixed area (engine pages) + pages for shadow tables. */
export const SHADOW_REGION_SIZE = 0x8000 + 96 * 0x1000;

const hex = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;

export class ShadowAssist {
  readonly region: VmmRegion;
  readonly shadow: ShadowPageTables;

  constructor(private readonly cpu: Cpu, ram: Uint8Array, private readonly identityDirectory: () => number) {
    this.region = new VmmRegion(ram, SHADOW_REGION_SIZE);
    const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    const mmu = cpu.mmu;
    this.shadow = new ShadowPageTables(
      {
        read32: (address) => (address >= 0 && address + 4 <= ram.length ? view.getUint32(address, true) : undefined),
        write32: (address, value) => (address >= 0 && address + 4 <= ram.length ? mmu.writePhysical(address, 4, value | 0) : undefined),
      },
      this.region,
      {
        invalidatePage: (linear) => mmu.invalidatePage(linear | 0),
        flushAll: () => mmu.flush(true),
        rootChanged: (directory) => void (cpu.s[CR + 3] = directory | 0),
      },
      // No VMM window in the guest's linear space: this VMM runs in VMX root operation (SDM Vol. 3C 27.5 loads
      // the host's own CR3), so a ring-0 non-root guest must not reach VMM pages through its shadow.
      { vmmWindow: false },
    );
  }

  /** The guest's (virtual) CR0/CR3/CR4 changed: the shadow follows, the real CR3 follows the shadow. */
  apply(cr0: number, cr3: number, cr4: number, cr3Loaded: boolean): void {
    this.shadow.setControls(cr0, cr3, cr4, cr3Loaded);
    this.cpu.s[CR + 3] = (this.shadow.realCr3 ?? this.identityDirectory()) | 0;
  }
}

/** What the #PF handler needs from the exit handler context. */
export interface ShadowFaultContext {
  readonly notes: string[];
  executeInRoot(): StepResult;
  /** Inject #PF with this error code on the next VM entry. */
  injectPageFault(errorCode: number): void;
  /** Inject again the event whose delivery the fault interrupted (IDT-vectoring information), if any. */
  reinjectVectoredEvent(): void;
  /** Put the guest's CR2 back (VMX does not virtualise CR2; this #PF overwrote it). */
  restoreGuestCr2(): void;
}

/** One #PF exit under shadow paging, as named steps (the same classification trap-and-emulate shows). */
export function shadowPageFaultHandler<C extends ShadowFaultContext>(assist: ShadowAssist, linear: number, errorCode: number): HandlerDefinition<C> {
  const shadow = assist.shadow;
  const write = (errorCode & 2) !== 0;
  const user = (errorCode & 4) !== 0;
  let outcome: ReturnType<ShadowPageTables['classify']> | undefined;
  return {
    name: `#PF at ${hex(linear)} (shadow paging, VM exit 0)`,
    layer: 'vmm',
    steps: [
      step<C>('read exit qualification (CR2) and error code (VMREAD)', () => undefined),
      step<C>('walk the guest page tables', (c): StepResult => {
        outcome = shadow.classify(linear, errorCode);
        switch (outcome.kind) {
          case 'true':
            shadow.counters.trueFaults++;
            c.notes.push(`true page fault at ${hex(linear)}: ${outcome.why}`);
            return { goto: 'inject #PF into the guest' };
          case 'vmm-memory':
            return { finish: { kind: 'stop', message: `the guest maps ${hex(outcome.physical)}, which is VMM-owned memory (the top of RAM)` } };
          case 'tracing':
            shadow.counters.tracingFaults++;
            c.notes.push(`tracing fault: guest ${outcome.table} write at ${hex(linear)}`);
            return { goto: 'execute the guest write with the page unprotected' };
          default:
            shadow.counters.hiddenFaults++;
            c.notes.push(`hidden page fault at ${hex(linear)}: fill the shadow page table`);
            return undefined;
        }
      }, 'emulationStep'),
      step<C>('fill the shadow page table', (): StepResult => {
        if (outcome?.kind !== 'hidden') return { goto: 'resume the guest' };
        if (!shadow.fill(linear, outcome.walk, write, user)) return { finish: { kind: 'stop', message: 'the VMM ran out of pages for shadow page tables' } };
        return { goto: 'resume the guest' };
      }, 'shadowPageFault'),
      step<C>('execute the guest write with the page unprotected', (c): StepResult => {
        if (outcome?.kind !== 'tracing') return { goto: 'resume the guest' };
        if (!shadow.beginTracedWrite(linear, outcome.walk)) return { finish: { kind: 'stop', message: 'the VMM ran out of pages for shadow page tables' } };
        return c.executeInRoot();
      }, 'emulationStep'),
      step<C>('resynchronise the shadow', (c) => {
        const changed = shadow.finishTracedWrite();
        c.notes.push(`${changed} guest ${changed === 1 ? 'entry' : 'entries'} changed: their shadow entries were invalidated`);
      }, 'shadowPteWrite'),
      step<C>('resume the guest', (c) => {
        c.restoreGuestCr2();
        c.reinjectVectoredEvent(); // a hidden fault while delivering a guest event: deliver that event again
        return { finish: { kind: 'resume' } };
      }),
      step<C>('inject #PF into the guest', (c): StepResult => {
        c.injectPageFault(outcome?.kind === 'true' ? outcome.errorCode : errorCode);
        return undefined;
      }, 'interruptInjection'),
    ],
  };
}
