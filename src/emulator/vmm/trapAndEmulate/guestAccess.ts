// What the trap-and-emulate handlers need from the real CPU, as a small interface (the hardware-abstraction
// style of hw/contracts.ts). An adapter over src/emulator/cpu implements it for the machine; the unit tests
// implement it with a plain in-memory fake. Reads and writes are guest LINEAR addresses through the guest's
// segments as the VMM sees them; a failing access returns undefined/false (the handler then reflects a fault),
// never throws.

import type { AccessSize, PortBus } from '../../hw/contracts';
import type { DevicePath } from '../io/devicePath';

/** A decoded guest instruction with the operand facts the privileged-instruction emulators need. */
export interface GuestInstruction {
  readonly address: number;
  readonly bytes: readonly number[];
  /** NASM text, e.g. "out dx, al". */
  readonly text: string;
  /** Lower-case mnemonic; MOV to/from a control register is "mov-cr", to/from a segment register "mov-sreg". */
  readonly mnemonic: string;
  readonly length: number;
  /** IN/OUT: port (a number for the immediate form, 'dx' for the DX form), access size, direction. */
  readonly io?: { readonly port: number | 'dx'; readonly size: AccessSize; readonly isIn: boolean };
  /** Linear address of a memory operand (LGDT/LIDT m16&32, LTR/LLDT m16…). */
  readonly memoryAddress?: number;
  /** GPR number of a register operand (0 EAX … 7 EDI). */
  readonly register?: number;
  /** MOV CRn: the control register and the direction. */
  readonly controlRegister?: number;
  readonly toControlRegister?: boolean;
  /** MOV Sreg / POP Sreg: the segment register (0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS). */
  readonly segmentRegister?: number;
  /** Operand size in bytes (IRET: 2 or 4). */
  readonly operandSize?: 2 | 4;
  /** INS/OUTS: element size, direction, REP prefix and the source segment of OUTS (DS or an override). */
  readonly stringIo?: { readonly size: AccessSize; readonly isIn: boolean; readonly rep: boolean; readonly segment: number };
  /** Far JMP/CALL: the target selector (ptr16:32 immediate, or read from the m16:32 operand). */
  readonly farSelector?: number;
}

export interface GuestCpuAccess {
  /** Real current privilege level (1 for the deprivileged guest kernel, 3 for guest user code). */
  readonly cpl: number;
  getEip(): number;
  setEip(value: number): void;
  getGpr(register: number): number;
  setGpr(register: number, value: number): void;
  /** Real EFLAGS (all bits). */
  getEflags(): number;
  setEflags(value: number): void;
  getSelector(segment: number): number;
  /** Base of a segment register's hidden descriptor cache (for stack addresses). */
  getSegmentBase(segment: number): number;
  /** Loads a segment register on the REAL CPU (descriptor from the real, VMM-owned GDT); false if it would fault. */
  loadSegment(segment: number, selector: number): boolean;
  readLinear(address: number, size: AccessSize): number | undefined;
  writeLinear(address: number, size: AccessSize, value: number): boolean;
  /** Decodes the instruction at a linear address; undefined if it cannot be fetched or decoded. */
  decodeAt(address: number): GuestInstruction | undefined;
  /** The device side of port I/O as the architecture routes it (in-VMM models, management OS, host process). */
  readonly ports: PortBus;
  /**
   * The architecture's I/O path as steppable hop handlers (../io/devicePath.ts), set by the engine: the I/O
   * handler's access step delegates to it. Without one (unit-test fakes) the access runs in the VMM step.
   */
  readonly devicePath?: DevicePath;
}

/** Segment register numbers (Sreg encoding, SDM Vol. 2A Table 3-6). */
export const SegmentRegister = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** EFLAGS bits used by the VMM (SDM Vol. 1 3.4.3). */
export const EflagsBit = { IF: 1 << 9, IOPL: 3 << 12, NT: 1 << 14, RF: 1 << 16, VM: 1 << 17 } as const;
