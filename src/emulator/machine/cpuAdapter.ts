// Binds the IA-32 core (src/emulator/cpu) to the machine's CpuPort: run loops, stop requests, the boot
// hand-over (registers, GDTR/IDTR, segment caches loaded from the GDT in guest memory), snapshots,
// summaries for dumps, and debugger access.
import { Cpu } from '../cpu/cpu';
import { writeEflags } from '../cpu/lazyFlags';
import { fetchDescriptor, loadCodeSegment, loadSegmentCache } from '../cpu/segments';
import {
  CPL, CR, CpuMode, EIP, GDTR_BASE, GDTR_LIMIT, GPR, GPR_NAMES, IDTR_BASE, IDTR_LIMIT, MODE, SEGMENT_NAMES,
  SEG_BASE, SEG_SELECTOR, Seg,
} from '../cpu/stateLayout';
import type { CpuSummary, MachineCpu, ProtectedModeEntry } from './cpuPort';
import type { Machine } from './machine';

const IF_FLAG = 1 << 9;

export class Ia32CpuAdapter implements MachineCpu {
  readonly core: Cpu;
  /** Every core of the machine (kept by CPU 0): a store to a page of decoded code invalidates it in all of them. */
  private readonly coherentCores: Cpu[] = [];

  /** CPU `index` of the machine (0 = the bootstrap processor); its INTR pin is its local APIC when there is one. */
  constructor(machine: Machine, index = 0) {
    const apic = machine.devices.apic?.apics[index];
    const bsp = index > 0 && machine.cpu instanceof Ia32CpuAdapter ? machine.cpu : null;
    this.core = new Cpu({
      memory: machine.memory,
      ports: machine.ports,
      interrupts: apic ?? machine.devices.pic ?? { pending: () => false, acknowledge: () => 0xff },
      features: { vmx: machine.recipe.cpu.vmx },
      ...(apic !== undefined ? { localApic: apic } : {}),
      ...(bsp !== null ? { sharedCodePages: bsp.core.mmu.codePages } : {}),
    });
    if (bsp !== null) {
      // Cross-CPU code coherence: the code-page map is shared, and a hit invalidates the page in every core.
      const cores = bsp.coherentCores;
      if (cores.length === 0) cores.push(bsp.core);
      cores.push(this.core);
      for (const core of cores) {
        core.mmu.codePagesShared = true;
        core.mmu.onCodeWrite = (page) => {
          for (const c of cores) c.blocks.invalidatePage(page);
          core.blockBreak = true;
        };
      }
    }
  }

  halted(): boolean {
    return (this.core.s[MODE]! & CpuMode.Halted) !== 0;
  }

  reset(): void {
    this.core.reset();
  }

  startup(vector: number): void {
    const s = this.core.s;
    s[SEG_SELECTOR + Seg.CS] = (vector & 0xff) << 8;
    s[SEG_BASE + Seg.CS] = (vector & 0xff) << 12;
    s[EIP] = 0;
    s[MODE] = 0;
    this.core.codeGeneration++;
    this.core.blocks.clear();
  }

  noticeInterrupt(): void {
    this.core.blockBreak = true;
  }

  retired(): number {
    return this.core.retired;
  }

  run(budget: number, debug: boolean, resumeOverBreakpoint = true): ReturnType<MachineCpu['run']> {
    return debug ? this.core.runDebug(budget, resumeOverBreakpoint) : this.core.run(budget);
  }

  requestStop(): void {
    if (this.core.stopRequest === null) this.core.stopRequest = 'exit'; // never mask a halt or shutdown
    this.core.blockBreak = true;
  }

  cancelStop(): void {
    if (this.core.stopRequest === 'exit') this.core.stopRequest = null;
  }

  interruptsEnabled(): boolean {
    return (this.core.eflags() & IF_FLAG) !== 0;
  }

  enterProtectedMode(entry: ProtectedModeEntry): void {
    const cpu = this.core;
    const s = cpu.s;
    s[CR] = entry.cr0;
    cpu.mmu.flush(true);
    cpu.blocks.clear();
    s[GDTR_BASE] = entry.gdtBase;
    s[GDTR_LIMIT] = entry.gdtLimit;
    s[IDTR_BASE] = entry.idtBase;
    s[IDTR_LIMIT] = entry.idtLimit;
    const load = (seg: number, selector: number): void => {
      if (!fetchDescriptor(cpu, selector)) throw new RangeError(`boot selector 0x${selector.toString(16)} is outside the GDT`);
      if (seg === Seg.CS) loadCodeSegment(cpu, selector, cpu.descLow, cpu.descHigh, 0);
      else loadSegmentCache(cpu, seg, selector, cpu.descLow, cpu.descHigh);
    };
    load(Seg.CS, entry.cs);
    load(Seg.SS, entry.ss);
    load(Seg.DS, entry.ds);
    load(Seg.ES, entry.es);
    load(Seg.FS, entry.fs);
    load(Seg.GS, entry.gs);
    s[CPL] = 0;
    for (let r = 0; r < 8; r++) s[GPR + r] = 0;
    s[GPR + 0] = entry.eax;
    s[GPR + 3] = entry.ebx;
    s[GPR + 4] = entry.esp;
    s[EIP] = entry.eip;
    writeEflags(s, entry.eflags);
    s[MODE] = 0;
  }

  summary(): CpuSummary {
    const s = this.core.s;
    const registers: Record<string, number> = {};
    GPR_NAMES.forEach((name, i) => (registers[name] = s[GPR + i]! >>> 0));
    registers['eip'] = s[EIP]! >>> 0;
    registers['eflags'] = this.core.eflags() >>> 0;
    SEGMENT_NAMES.forEach((name, i) => (registers[name] = s[SEG_SELECTOR + i]! & 0xffff));
    for (const n of [0, 2, 3, 4]) registers[`cr${n}`] = s[CR + n]! >>> 0;
    return { registers, cpl: s[CPL]!, halted: (s[MODE]! & CpuMode.Halted) !== 0 };
  }

  saveState(): unknown {
    return this.core.saveState();
  }

  loadState(state: unknown): void {
    this.core.loadState(state as ReturnType<Cpu['saveState']>);
  }

  stateBytes(): Uint8Array {
    return new Uint8Array(this.core.buffer.slice(0));
  }

  peekLinear(linear: number): number | undefined {
    return this.core.peekLinear(linear);
  }

  pokeLinear(linear: number, value: number): boolean {
    return this.core.pokeLinear(linear, value);
  }

  setBreakpoint(linear: number): void {
    this.core.setBreakpoint(linear);
  }

  clearBreakpoint(linear: number): void {
    this.core.clearBreakpoint(linear);
  }
}
