// SPDX-License-Identifier: MIT
// The debugger's register file: reads and writes every architectural register of the IA-32 core through
// the slot constants of src/emulator/cpu/stateLayout.ts (the CPU's one layout table), because the
// machine's MachineCpu port only offers a summary. This is a deliberate, documented coupling to the CPU's
// typed-array state: nothing here hard-codes a slot number, and writes go through the CPU's own helpers
// (writeEflags, MMU flush, block-cache clear) so the core's invariants hold after a debugger edit.
import type { Cpu } from '../emulator/cpu/cpu';
import { readEflags, writeEflags } from '../emulator/cpu/lazyFlags';
import {
  CPL, CR, DR, EIP, GDTR_BASE, GDTR_LIMIT, GPR, GPR_NAMES, IDTR_BASE, IDTR_LIMIT, LDTR_SELECTOR, MODE, SEG_ACCESS,
  SEG_BASE, SEG_LIMIT, SEG_SELECTOR, SEGMENT_NAMES, TR_SELECTOR,
} from '../emulator/cpu/stateLayout';
import type { Machine } from '../emulator/machine/machine';

/** EFLAGS bits as the SDM names them (Vol. 1 3.4.3, Figure 3-8), low to high. */
export const EFLAGS_BITS: readonly { readonly name: string; readonly bit: number; readonly width: number; readonly meaning: string }[] = [
  { name: 'CF', bit: 0, width: 1, meaning: 'carry' },
  { name: 'PF', bit: 2, width: 1, meaning: 'parity (low byte has an even number of 1 bits)' },
  { name: 'AF', bit: 4, width: 1, meaning: 'auxiliary carry (BCD)' },
  { name: 'ZF', bit: 6, width: 1, meaning: 'zero' },
  { name: 'SF', bit: 7, width: 1, meaning: 'sign' },
  { name: 'TF', bit: 8, width: 1, meaning: 'trap (single-step)' },
  { name: 'IF', bit: 9, width: 1, meaning: 'interrupt enable' },
  { name: 'DF', bit: 10, width: 1, meaning: 'direction (string instructions count down)' },
  { name: 'OF', bit: 11, width: 1, meaning: 'overflow' },
  { name: 'IOPL', bit: 12, width: 2, meaning: 'I/O privilege level' },
  { name: 'NT', bit: 14, width: 1, meaning: 'nested task' },
  { name: 'RF', bit: 16, width: 1, meaning: 'resume' },
  { name: 'VM', bit: 17, width: 1, meaning: 'virtual-8086 mode' },
  { name: 'AC', bit: 18, width: 1, meaning: 'alignment check' },
  { name: 'VIF', bit: 19, width: 1, meaning: 'virtual interrupt flag' },
  { name: 'VIP', bit: 20, width: 1, meaning: 'virtual interrupt pending' },
  { name: 'ID', bit: 21, width: 1, meaning: 'CPUID available' },
];

const SUB_REGISTERS: Readonly<Record<string, { readonly reg: number; readonly shift: number; readonly mask: number }>> = {
  ax: { reg: 0, shift: 0, mask: 0xffff }, cx: { reg: 1, shift: 0, mask: 0xffff }, dx: { reg: 2, shift: 0, mask: 0xffff },
  bx: { reg: 3, shift: 0, mask: 0xffff }, sp: { reg: 4, shift: 0, mask: 0xffff }, bp: { reg: 5, shift: 0, mask: 0xffff },
  si: { reg: 6, shift: 0, mask: 0xffff }, di: { reg: 7, shift: 0, mask: 0xffff },
  al: { reg: 0, shift: 0, mask: 0xff }, cl: { reg: 1, shift: 0, mask: 0xff }, dl: { reg: 2, shift: 0, mask: 0xff }, bl: { reg: 3, shift: 0, mask: 0xff },
  ah: { reg: 0, shift: 8, mask: 0xff }, ch: { reg: 1, shift: 8, mask: 0xff }, dh: { reg: 2, shift: 8, mask: 0xff }, bh: { reg: 3, shift: 8, mask: 0xff },
};

/** A loaded segment register: the visible selector and the hidden descriptor cache (SDM Vol. 3A 3.4.3). */
export interface SegmentView {
  readonly name: string;
  readonly selector: number;
  readonly base: number;
  readonly limit: number;
  /** Descriptor bits 8..23 of the high dword: type, S, DPL, P, AVL, D/B, G. */
  readonly access: number;
}

/** Register access for one vCPU. Register names are lower case (`eax`, `al`, `cr0`, `zf`). */
export class CpuRegisters {
  constructor(private readonly cpu: Cpu) {}

  /** The IA-32 core behind a machine built by createPcMachine (its MachineCpu adapter exposes `core`). */
  static of(machine: Machine): CpuRegisters {
    return CpuRegisters.ofCpu(machine, 0);
  }

  /** CPU `index` of a multiprocessor machine (0 = the bootstrap processor). */
  static ofCpu(machine: Machine, index: number): CpuRegisters {
    const core = (machine.cpus[index] as unknown as { core?: Cpu } | undefined)?.core;
    if (core === undefined) throw new Error(`this machine has no IA-32 core ${index} the debugger can inspect`);
    return new CpuRegisters(core);
  }

  get core(): Cpu {
    return this.cpu;
  }

  eip(): number {
    return this.cpu.s[EIP]! >>> 0;
  }

  /** Linear address of the next instruction (CS base + EIP). */
  pc(): number {
    return (this.cpu.s[SEG_BASE + 1]! + this.cpu.s[EIP]!) >>> 0;
  }

  esp(): number {
    return this.cpu.s[GPR + 4]! >>> 0;
  }

  eflags(): number {
    return readEflags(this.cpu.s) >>> 0;
  }

  cpl(): number {
    return this.cpu.s[CPL]!;
  }

  halted(): boolean {
    return (this.cpu.s[MODE]! & 1) !== 0;
  }

  segment(index: number): SegmentView {
    const s = this.cpu.s;
    return {
      name: SEGMENT_NAMES[index]!,
      selector: s[SEG_SELECTOR + index]! & 0xffff,
      base: s[SEG_BASE + index]! >>> 0,
      limit: s[SEG_LIMIT + index]! >>> 0,
      access: s[SEG_ACCESS + index]! & 0xffff,
    };
  }

  descriptorTable(which: 'gdtr' | 'idtr'): { base: number; limit: number } {
    const s = this.cpu.s;
    return which === 'gdtr'
      ? { base: s[GDTR_BASE]! >>> 0, limit: s[GDTR_LIMIT]! & 0xffff }
      : { base: s[IDTR_BASE]! >>> 0, limit: s[IDTR_LIMIT]! & 0xffff };
  }

  /** Reads a register or flag by name; undefined for an unknown name. */
  read(name: string): number | undefined {
    const n = name.toLowerCase();
    const s = this.cpu.s;
    const gpr = (GPR_NAMES as readonly string[]).indexOf(n);
    if (gpr >= 0) return s[GPR + gpr]! >>> 0;
    const sub = SUB_REGISTERS[n];
    if (sub !== undefined) return (s[GPR + sub.reg]! >>> sub.shift) & sub.mask;
    const seg = (SEGMENT_NAMES as readonly string[]).indexOf(n);
    if (seg >= 0) return s[SEG_SELECTOR + seg]! & 0xffff;
    switch (n) {
      case 'eip': return this.eip();
      case 'ip': return this.eip() & 0xffff;
      case 'eflags': return this.eflags();
      case 'cpl': return this.cpl();
      case 'ldtr': return s[LDTR_SELECTOR]! & 0xffff;
      case 'tr': return s[TR_SELECTOR]! & 0xffff;
    }
    const cr = /^cr([0-4])$/.exec(n);
    if (cr !== null) return s[CR + Number(cr[1])]! >>> 0;
    const dr = /^dr([0-7])$/.exec(n);
    if (dr !== null) return s[DR + Number(dr[1])]! >>> 0;
    const flag = EFLAGS_BITS.find((f) => f.name.toLowerCase() === n);
    if (flag !== undefined) return (this.eflags() >>> flag.bit) & ((1 << flag.width) - 1);
    return undefined;
  }

  /**
   * Writes a register or flag by name. Returns an error message, or undefined on success. Segment
   * registers are read-only here: loading one means a descriptor load with its checks, which is the
   * guest's job (a debugger edit would leave the hidden cache inconsistent with the GDT).
   */
  write(name: string, value: number): string | undefined {
    const n = name.toLowerCase();
    const s = this.cpu.s;
    const v = value >>> 0;
    const gpr = (GPR_NAMES as readonly string[]).indexOf(n);
    if (gpr >= 0) {
      s[GPR + gpr] = v | 0;
      return undefined;
    }
    const sub = SUB_REGISTERS[n];
    if (sub !== undefined) {
      const old = s[GPR + sub.reg]!;
      s[GPR + sub.reg] = (old & ~(sub.mask << sub.shift)) | ((v & sub.mask) << sub.shift);
      return undefined;
    }
    if (n === 'eip') {
      s[EIP] = v | 0;
      this.cpu.blockBreak = true;
      return undefined;
    }
    if (n === 'eflags') {
      writeEflags(s, v | 0);
      return undefined;
    }
    const flag = EFLAGS_BITS.find((f) => f.name.toLowerCase() === n);
    if (flag !== undefined) {
      const max = (1 << flag.width) - 1;
      if (v > max) return `${flag.name} is ${flag.width} bit${flag.width > 1 ? 's' : ''} wide: use 0..${max}`;
      const mask = max << flag.bit;
      writeEflags(s, (this.eflags() & ~mask) | (v << flag.bit));
      return undefined;
    }
    const cr = /^cr([0-4])$/.exec(n);
    if (cr !== null) {
      if (cr[1] === '1') return 'CR1 is reserved (SDM Vol. 3A 2.5)';
      s[CR + Number(cr[1])] = v | 0;
      // Paging-relevant state changed: drop cached translations and decoded blocks.
      this.cpu.mmu.flush(true);
      this.cpu.blocks.clear();
      return undefined;
    }
    const dr = /^dr([0-7])$/.exec(n);
    if (dr !== null) {
      s[DR + Number(dr[1])] = v | 0;
      return undefined;
    }
    if ((SEGMENT_NAMES as readonly string[]).includes(n)) {
      return `${n.toUpperCase()} is read-only in the debugger: loading a selector needs a descriptor load (use the guest code)`;
    }
    return `unknown register '${name}'`;
  }
}
