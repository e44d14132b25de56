// GuestCpuAccess over the real IA-32 core (src/emulator/cpu): register and segment access through the CPU's
// state layout, guest memory through the CPU's linear reads/writes (faults become undefined/false, never host
// exceptions), segment loads from the real (VMM-owned) GDT, and decoding with the shared ISA decoder and the
// disassembler's NASM text, so the VMM and the debugger name instructions alike.

import type { AccessSize, PortBus } from '../../hw/contracts';
import type { Cpu } from '../../cpu/cpu';
import { readEflags, writeEflags } from '../../cpu/lazyFlags';
import { fetchDescriptor, loadCodeSegment, loadSegmentCache } from '../../cpu/segments';
import { CPL, EIP, GPR, SEG_BASE, SEG_SELECTOR } from '../../cpu/stateLayout';
import { disassembleOne } from '../../disasm/disassembler';
import { DecodedInstruction, MAX_INSTRUCTION_LENGTH, Prefix } from '../../isa/decoder';
import { INSTRUCTION_FORMS } from '../../isa/table';
import type { GuestCpuAccess, GuestInstruction } from './guestAccess';
import type { DevicePath } from '../io/devicePath';

/**
 * How the VMM reaches guest-linear memory while the guest pages: through the guest's OWN tables (the real CR3
 * points at a shadow that may not map the address yet). Implemented by memory/shadowPaging.ts.
 */
export interface GuestPagingTranslator {
  readonly active: boolean;
  /** Guest-linear → physical through the guest's tables (A/D set); undefined where the guest would fault. */
  translate(linear: number, write: boolean): number | undefined;
  /** The same walk without setting accessed/dirty flags (decoding may look past the instruction's last byte). */
  peek(linear: number): number | undefined;
  /** Runs a VMM write to guest-physical memory, resynchronising the shadow if it hits a guest page table. */
  guestPhysicalWritten(physical: number, write: () => void): void;
}

const scratch = new DecodedInstruction();
const bytes = new Uint8Array(MAX_INSTRUCTION_LENGTH);

export class CpuGuestAccess implements GuestCpuAccess {
  /** Set by an engine with shadow paging: guest-linear accesses then walk the guest's tables in software. */
  pagingTranslator: GuestPagingTranslator | null = null;
  /** Set by the engine: the architecture's I/O path the I/O handler delegates its access to. */
  devicePath: DevicePath | undefined = undefined;
  private vmmWriteDepth = 0;

  constructor(
    private readonly cpu: Cpu,
    readonly ports: PortBus,
  ) {}

  get cpl(): number {
    return this.cpu.s[CPL]!;
  }

  getEip(): number {
    return this.cpu.s[EIP]! >>> 0;
  }

  setEip(value: number): void {
    this.cpu.s[EIP] = value | 0;
  }

  getGpr(register: number): number {
    return this.cpu.s[GPR + register]! >>> 0;
  }

  setGpr(register: number, value: number): void {
    this.cpu.s[GPR + register] = value | 0;
  }

  getEflags(): number {
    return readEflags(this.cpu.s) >>> 0;
  }

  setEflags(value: number): void {
    writeEflags(this.cpu.s, value);
  }

  getSelector(segment: number): number {
    return this.cpu.s[SEG_SELECTOR + segment]! & 0xffff;
  }

  getSegmentBase(segment: number): number {
    return this.cpu.s[SEG_BASE + segment]! >>> 0;
  }

  loadSegment(segment: number, selector: number): boolean {
    if ((selector & 0xfffc) === 0 || !fetchDescriptor(this.cpu, selector)) return false;
    if ((this.cpu.descHigh & 0x8000) === 0) return false; // not present
    if (segment === 1) loadCodeSegment(this.cpu, selector, this.cpu.descLow, this.cpu.descHigh, selector & 3);
    else loadSegmentCache(this.cpu, segment, selector, this.cpu.descLow, this.cpu.descHigh);
    this.cpu.blockBreak = true;
    return true;
  }

  readLinear(address: number, size: AccessSize): number | undefined {
    const paging = this.pagingTranslator;
    if (paging !== null && paging.active) {
      let value = 0;
      for (let i = 0; i < size; i++) {
        const physical = paging.translate((address + i) >>> 0, false);
        if (physical === undefined) return undefined;
        value |= this.cpu.mmu.readPhysical(physical, 1) << (8 * i);
      }
      return value >>> 0;
    }
    try {
      return this.cpu.readLinear(address | 0, size, true) >>> 0;
    } catch (e) {
      if (e === this.cpu.fault) return undefined;
      throw e;
    }
  }

  /** True while a VMM write to guest memory runs (descriptorTracing.ts tells it from a guest store). */
  get vmmWriting(): boolean {
    return this.vmmWriteDepth > 0;
  }

  /** Runs a VMM write to guest memory that does not go through writeLinear (shadow paging's A/D updates). */
  asVmm<T>(write: () => T): T {
    this.vmmWriteDepth++;
    try {
      return write();
    } finally {
      this.vmmWriteDepth--;
    }
  }

  writeLinear(address: number, size: AccessSize, value: number): boolean {
    return this.asVmm(() => this.writeLinearAsVmm(address, size, value));
  }

  private writeLinearAsVmm(address: number, size: AccessSize, value: number): boolean {
    const paging = this.pagingTranslator;
    if (paging !== null && paging.active) {
      const physical: number[] = [];
      for (let i = 0; i < size; i++) {
        const byte = paging.translate((address + i) >>> 0, true);
        if (byte === undefined) return false;
        physical.push(byte);
      }
      physical.forEach((target, i) => paging.guestPhysicalWritten(target, () => this.cpu.mmu.writePhysical(target, 1, (value >>> (8 * i)) & 0xff)));
      return true;
    }
    try {
      this.cpu.writeLinear(address | 0, size, value, true);
      return true;
    } catch (e) {
      if (e === this.cpu.fault) return false;
      throw e;
    }
  }

  decodeAt(address: number): GuestInstruction | undefined {
    let count = 0;
    const paging = this.pagingTranslator;
    for (; count < MAX_INSTRUCTION_LENGTH; count++) {
      let byte: number | undefined;
      if (paging !== null && paging.active) {
        const physical = paging.peek((address + count) >>> 0);
        byte = physical === undefined ? undefined : this.cpu.mmu.peekPhysical(physical);
      } else {
        byte = this.readLinear((address + count) >>> 0, 1);
      }
      if (byte === undefined) break;
      bytes[count] = byte;
    }
    if (count === 0) return undefined;
    const text = disassembleOne(bytes.subarray(0, count), 0, address, { bits: 32 }, scratch);
    const form = INSTRUCTION_FORMS[text.formIndex];
    if (form === undefined) return undefined;
    const d = scratch;
    const base = {
      address,
      bytes: Array.from(bytes.subarray(0, d.length)),
      text: text.text.replace(/,/g, ', '),
      length: d.length,
    };
    const memoryAddress = d.isMemory ? this.effectiveAddress(d) : undefined;
    const withMemory = <T extends object>(value: T): T & { memoryAddress?: number } =>
      memoryAddress === undefined ? value : { ...value, memoryAddress };
    switch (form.sdm) {
      case 'MOV Cd,Rd':
      case 'MOV Rd,Cd':
        return { ...base, mnemonic: 'mov-cr', controlRegister: d.reg, register: d.rm, toControlRegister: form.sdm === 'MOV Cd,Rd' };
      case 'MOV Sw,Ev':
        return withMemory({ ...base, mnemonic: 'mov-sreg', segmentRegister: d.reg, ...(d.isMemory ? {} : { register: d.rm }) });
      case 'POP SS':
        return { ...base, mnemonic: 'pop-sreg', segmentRegister: 2 };
      default:
        break;
    }
    const mnemonic = form.mnemonic === 'iret' ? 'iretd' : form.mnemonic;
    const stringIo = /^(ins|outs)([bwd])$/.exec(mnemonic);
    if (stringIo !== null) {
      const size: AccessSize = stringIo[2] === 'b' ? 1 : stringIo[2] === 'w' ? 2 : 4;
      const isIn = stringIo[1] === 'ins';
      const rep = (d.prefixes & (Prefix.REP | Prefix.REPNE)) !== 0;
      return { ...base, mnemonic, io: { port: 'dx', size, isIn }, stringIo: { size, isIn, rep, segment: d.segmentOverride >= 0 ? d.segmentOverride : 3 } };
    }
    if (form.sdm === 'JMP Ap' || form.sdm === 'CALL Ap') return { ...base, mnemonic, farSelector: d.farSelector };
    if ((form.sdm === 'JMP Mp' || form.sdm === 'CALL Mp') && memoryAddress !== undefined) {
      const selector = this.readLinear((memoryAddress + (d.operandSize === 16 ? 2 : 4)) >>> 0, 2);
      return withMemory(selector === undefined ? { ...base, mnemonic } : { ...base, mnemonic, farSelector: selector });
    }
    if (mnemonic === 'in' || mnemonic === 'out') {
      const size: AccessSize = form.operands.includes('AL') ? 1 : d.operandSize === 16 ? 2 : 4;
      const port = form.operands.includes('Ib') ? d.immediate & 0xff : ('dx' as const);
      return { ...base, mnemonic, io: { port, size, isIn: mnemonic === 'in' } };
    }
    if (d.hasModrm && !d.isMemory) return { ...base, mnemonic, register: d.rm };
    return withMemory({ ...base, mnemonic });
  }

  /** 32-bit effective address plus the segment base (SDM Vol. 2A 2.1.5). */
  private effectiveAddress(d: DecodedInstruction): number {
    let offset = d.displacement;
    if (d.base >= 0) offset += this.getGpr(d.base);
    if (d.index >= 0) offset += this.getGpr(d.index) << d.scaleShift;
    return (this.getSegmentBase(d.segment) + offset) >>> 0;
  }
}
