// Test harness for the CPU: a RAM-only machine (no devices), port and interrupt stubs, NASM assembly of
// small programs (tests only: the real `nasm` via child_process), and a standard GDT/IDT/TSS layout so
// protection tests can run guest code in rings 0, 1 and 3.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessSize, InterruptLine, PhysicalMemoryBus, PortBus } from '../../../src/emulator/hw/contracts';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { enterFlatProtectedMode } from '../../../src/emulator/cpu/reset';
import { GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, TR_ACCESS, TR_BASE, TR_LIMIT, TR_SELECTOR } from '../../../src/emulator/cpu/stateLayout';

export class TestPorts implements PortBus {
  readonly writes: [number, number, number][] = [];
  readonly inputs = new Map<number, number>();
  read(port: number, size: AccessSize): number {
    return this.inputs.get(port) ?? (size === 1 ? 0xff : size === 2 ? 0xffff : -1);
  }
  write(port: number, size: AccessSize, value: number): void {
    this.writes.push([port, size, value]);
  }
}

export class TestInterrupts implements InterruptLine {
  queue: number[] = [];
  pending(): boolean {
    return this.queue.length > 0;
  }
  acknowledge(): number {
    return this.queue.shift() ?? 0xff;
  }
}

export function ramBus(bytes: number): PhysicalMemoryBus {
  return {
    ram: new Uint8Array(bytes),
    isMmio: (address) => address >= bytes,
    mmioRead: (_address, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : -1),
    mmioWrite: () => undefined,
  };
}

export interface TestMachine {
  cpu: Cpu;
  ram: Uint8Array;
  ports: TestPorts;
  interrupts: TestInterrupts;
}

export function createMachine(memoryBytes = 4 << 20, vmx = false): TestMachine {
  const memory = ramBus(memoryBytes);
  const ports = new TestPorts();
  const interrupts = new TestInterrupts();
  const cpu = new Cpu({ memory, ports, interrupts, features: { vmx } });
  return { cpu, ram: memory.ram, ports, interrupts };
}

/** Assemble NASM source (bits 32 unless the source says otherwise) with the real nasm. */
export function nasm(source: string, origin = 0x10000): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'hyperstep-cpu-'));
  try {
    writeFileSync(join(dir, 'x.asm'), `bits 32\norg ${origin}\n${source}\n`);
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'x.bin'), join(dir, 'x.asm')], { stdio: 'pipe' });
    } catch (e) {
      const error = e as NodeJS.ErrnoException & { stderr?: Buffer };
      if (error.code === 'ENOENT') throw new Error('nasm is not installed (apt-get install nasm): the CPU tests need it');
      throw new Error(`nasm failed: ${error.stderr?.toString() ?? String(e)}`);
    }
    return new Uint8Array(readFileSync(join(dir, 'x.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const CODE_BASE = 0x10000;
export const GDT_BASE = 0x800;
export const IDT_BASE = 0x1000;
export const TSS_BASE = 0x1800;

/** Selectors of the standard GDT. */
export const SEL = {
  code0: 0x08, data0: 0x10, code3: 0x1b, data3: 0x23, tss: 0x28, code1: 0x31, data1: 0x39, code0_16: 0x40,
  conforming: 0x48, dataExpandDown0: 0x50, readOnlyData0: 0x58,
} as const;

function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const low = ((base & 0xffff) << 16) | (limit & 0xffff);
  const high = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [low | 0, high | 0];
}

export function write32(ram: Uint8Array, address: number, value: number): void {
  ram[address] = value; ram[address + 1] = value >> 8; ram[address + 2] = value >> 16; ram[address + 3] = value >> 24;
}

export function read32(ram: Uint8Array, address: number): number {
  return (ram[address]! | (ram[address + 1]! << 8) | (ram[address + 2]! << 16) | (ram[address + 3]! << 24)) >>> 0;
}

/**
 * Flat protected mode with the standard GDT (ring 0/1/3 code and data, a 32-bit TSS with ESP0/ESP1 stacks),
 * an empty IDT of 256 entries, `code` loaded at CODE_BASE, EIP = CODE_BASE, ESP = 0x9000.
 */
export function bootFlat(machine: TestMachine, code: Uint8Array, options: { loadTaskRegister?: boolean } = {}): void {
  const { cpu, ram } = machine;
  const gdt: [number, number][] = [
    [0, 0],
    descriptor(0, 0xfffff, 0x9a, 0xc), // 0x08 ring-0 code
    descriptor(0, 0xfffff, 0x92, 0xc), // 0x10 ring-0 data
    descriptor(0, 0xfffff, 0xfa, 0xc), // 0x18 ring-3 code
    descriptor(0, 0xfffff, 0xf2, 0xc), // 0x20 ring-3 data
    descriptor(TSS_BASE, 0x67 + 0x2000 / 8 + 1, 0x89, 0x0), // 0x28 32-bit TSS with an I/O bitmap
    descriptor(0, 0xfffff, 0xba, 0xc), // 0x30 ring-1 code
    descriptor(0, 0xfffff, 0xb2, 0xc), // 0x38 ring-1 data
    descriptor(0, 0xffff, 0x9a, 0x0), // 0x40 16-bit ring-0 code
    descriptor(0, 0xfffff, 0x9e, 0xc), // 0x48 conforming ring-0 code
    descriptor(0, 0x0fff, 0x96, 0x4), // 0x50 expand-down ring-0 data, limit 0xFFF (valid 0x1000..0xFFFFFFFF)
    descriptor(0, 0xfffff, 0x90, 0xc), // 0x58 read-only ring-0 data
  ];
  gdt.forEach(([low, high], i) => {
    write32(ram, GDT_BASE + i * 8, low);
    write32(ram, GDT_BASE + i * 8 + 4, high);
  });
  // TSS: ESP0/SS0 = 0x7000/0x10, ESP1/SS1 = 0x6000/0x39; I/O bitmap at 0x68 (all ports denied).
  write32(ram, TSS_BASE + 4, 0x7000);
  write32(ram, TSS_BASE + 8, SEL.data0);
  write32(ram, TSS_BASE + 12, 0x6000);
  write32(ram, TSS_BASE + 16, SEL.data1);
  ram[TSS_BASE + 0x66] = 0x68;
  ram[TSS_BASE + 0x67] = 0;
  ram.fill(0xff, TSS_BASE + 0x68, TSS_BASE + 0x68 + 0x2000 / 8 + 1);
  ram.set(code, CODE_BASE);
  enterFlatProtectedMode(cpu, { codeSelector: SEL.code0, dataSelector: SEL.data0, eip: CODE_BASE, esp: 0x9000 });
  cpu.s[GDTR_BASE] = GDT_BASE;
  cpu.s[GDTR_LIMIT] = gdt.length * 8 - 1;
  cpu.s[IDTR_BASE] = IDT_BASE;
  cpu.s[IDTR_LIMIT] = 256 * 8 - 1;
  if (options.loadTaskRegister !== false) {
    cpu.s[TR_SELECTOR] = SEL.tss;
    cpu.s[TR_BASE] = TSS_BASE;
    cpu.s[TR_LIMIT] = 0x67 + 0x2000 / 8 + 1;
    cpu.s[TR_ACCESS] = 0x8b; // busy 32-bit TSS
  }
}

/** `times` padding so the next label sits at CODE_BASE + offset (fixed handler addresses in tests). */
export function at(offset: number): string {
  return `times ${offset} - ($ - $$) nop`;
}

/** Install a 32-bit interrupt (type 0xE) or trap (0xF) gate. */
export function setGate(ram: Uint8Array, vector: number, handler: number, options: { dpl?: number; trap?: boolean; selector?: number } = {}): void {
  const selector = options.selector ?? SEL.code0;
  const type = options.trap === true ? 0xf : 0xe;
  write32(ram, IDT_BASE + vector * 8, (selector << 16) | (handler & 0xffff));
  write32(ram, IDT_BASE + vector * 8 + 4, (handler & 0xffff0000) | 0x8000 | ((options.dpl ?? 0) << 13) | (type << 8));
}

/** Assemble `source` at CODE_BASE, boot flat, run until a stop (bounded). */
export function runProgram(source: string, budget = 100000, machine = createMachine()): TestMachine & { reason: string } {
  bootFlat(machine, nasm(source));
  const reason = machine.cpu.run(budget);
  return { ...machine, reason };
}
