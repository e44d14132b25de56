// Exit-qualification decoders and encoders (the EXIT_QUALIFICATION field, VMCS 0x6400) for the exits HyperStep
// explains in the debugger. Table numbers follow the SDM Vol. 3C editions of 2021–2023, where chapter 28 is
// "VM Exits" (earlier editions number the same tables 27-3, 27-5, 27-7):
//   Table 28-3 "Exit Qualification for Control-Register Accesses"   (exit reason 28)
//   Table 28-4 "Exit Qualification for MOV DR"                        (exit reason 29)
//   Table 28-5 "Exit Qualification for I/O Instructions"             (exit reason 30)
//   Table 28-7 "Exit Qualification for EPT Violations"               (exit reason 48)
// Bit layouts: virtualization.md §6 (checked against Xen vmx.h, Linux asm/vmx.h, KVM handle_io). Encoders
// produce what a VMX implementation writes; decoders what a VMM (or the debugger's VM-exit view) reads.

/** The general-purpose register numbers used in qualifications (EAX = 0 … EDI = 7, SDM order). */
export const GPR_NAMES: readonly string[] = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

// ---- Control-register accesses (Table 28-3) ----

export type CrAccessType = 'mov-to-cr' | 'mov-from-cr' | 'clts' | 'lmsw';
const CR_ACCESS_TYPES: readonly CrAccessType[] = ['mov-to-cr', 'mov-from-cr', 'clts', 'lmsw'];

export interface CrAccessQualification {
  /** Bits 3:0: the control register (0, 3, 4 or 8; 0 for CLTS and LMSW). */
  readonly controlRegister: number;
  /** Bits 5:4: 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW. */
  readonly accessType: CrAccessType;
  /** Bit 6: LMSW operand type (false = register, true = memory). */
  readonly lmswMemoryOperand: boolean;
  /** Bits 11:8: the general-purpose register of a MOV CR (0 EAX … 7 EDI). */
  readonly gpr: number;
  /** Bits 31:16: the LMSW source data. */
  readonly lmswSourceData: number;
}

export function decodeCrAccess(qualification: number): CrAccessQualification {
  return {
    controlRegister: qualification & 0xf,
    accessType: CR_ACCESS_TYPES[(qualification >>> 4) & 3]!,
    lmswMemoryOperand: (qualification & 0x40) !== 0,
    gpr: (qualification >>> 8) & 0xf,
    lmswSourceData: (qualification >>> 16) & 0xffff,
  };
}

export function encodeCrAccess(q: CrAccessQualification): number {
  return (
    ((q.controlRegister & 0xf) |
      (CR_ACCESS_TYPES.indexOf(q.accessType) << 4) |
      (q.lmswMemoryOperand ? 0x40 : 0) |
      ((q.gpr & 0xf) << 8) |
      ((q.lmswSourceData & 0xffff) << 16)) >>>
    0
  );
}

/** "mov cr3, ebx" / "mov eax, cr0" / "clts" / "lmsw (reg) 0x0001" — the access as an instruction-like text. */
export function describeCrAccess(q: CrAccessQualification): string {
  const register = GPR_NAMES[q.gpr] ?? `r${q.gpr}`;
  switch (q.accessType) {
    case 'mov-to-cr':
      return `mov cr${q.controlRegister}, ${register}`;
    case 'mov-from-cr':
      return `mov ${register}, cr${q.controlRegister}`;
    case 'clts':
      return 'clts';
    case 'lmsw':
      return `lmsw (${q.lmswMemoryOperand ? 'memory' : 'register'}) 0x${q.lmswSourceData.toString(16).padStart(4, '0')}`;
  }
}

// ---- MOV DR (Table 28-4) ----

export interface MovDrQualification {
  /** Bits 2:0: the debug register. */
  readonly debugRegister: number;
  /** Bit 4: direction (false = MOV to DR, true = MOV from DR). */
  readonly fromDr: boolean;
  /** Bits 11:8: the general-purpose register. */
  readonly gpr: number;
}

export function decodeMovDr(qualification: number): MovDrQualification {
  return { debugRegister: qualification & 7, fromDr: (qualification & 0x10) !== 0, gpr: (qualification >>> 8) & 0xf };
}

export function encodeMovDr(q: MovDrQualification): number {
  return (q.debugRegister & 7) | (q.fromDr ? 0x10 : 0) | ((q.gpr & 0xf) << 8);
}

// ---- I/O instructions (Table 28-5) ----

export interface IoQualification {
  /** Bits 2:0 hold size − 1 (0 = byte, 1 = word, 3 = doubleword). */
  readonly size: 1 | 2 | 4;
  /** Bit 3: direction (false = OUT, true = IN). */
  readonly isIn: boolean;
  /** Bit 4: string instruction (INS/OUTS). */
  readonly isString: boolean;
  /** Bit 5: REP prefixed. */
  readonly isRep: boolean;
  /** Bit 6: operand encoding (false = port in DX, true = immediate). */
  readonly immediatePort: boolean;
  /** Bits 31:16: the port number. */
  readonly port: number;
}

export function decodeIo(qualification: number): IoQualification | undefined {
  const sizeField = qualification & 7;
  const size = sizeField === 0 ? 1 : sizeField === 1 ? 2 : sizeField === 3 ? 4 : undefined;
  if (size === undefined) return undefined; // 2 and 4–7 are not used by the SDM
  return {
    size,
    isIn: (qualification & 8) !== 0,
    isString: (qualification & 0x10) !== 0,
    isRep: (qualification & 0x20) !== 0,
    immediatePort: (qualification & 0x40) !== 0,
    port: (qualification >>> 16) & 0xffff,
  };
}

export function encodeIo(q: IoQualification): number {
  return (
    ((q.size - 1) |
      (q.isIn ? 8 : 0) |
      (q.isString ? 0x10 : 0) |
      (q.isRep ? 0x20 : 0) |
      (q.immediatePort ? 0x40 : 0) |
      ((q.port & 0xffff) << 16)) >>>
    0
  );
}

/** "out dx, al (port 0x3f8)" / "in al, 0x60" / "rep outsb (port 0x3f8)". */
export function describeIo(q: IoQualification): string {
  const accumulator = q.size === 1 ? 'al' : q.size === 2 ? 'ax' : 'eax';
  const suffix = q.size === 1 ? 'b' : q.size === 2 ? 'w' : 'd';
  const port = `0x${q.port.toString(16)}`;
  if (q.isString) return `${q.isRep ? 'rep ' : ''}${q.isIn ? 'ins' : 'outs'}${suffix} (port ${port})`;
  const portOperand = q.immediatePort ? port : 'dx';
  const text = q.isIn ? `in ${accumulator}, ${portOperand}` : `out ${portOperand}, ${accumulator}`;
  return q.immediatePort ? text : `${text} (port ${port})`;
}

// ---- EPT violations (Table 28-7) ----

export interface EptViolationQualification {
  /** Bit 0: the access was a data read. */
  readonly read: boolean;
  /** Bit 1: the access was a data write. */
  readonly write: boolean;
  /** Bit 2: the access was an instruction fetch. */
  readonly fetch: boolean;
  /** Bits 3–5: the logical AND of the read/write/execute bits of the EPT entries used for the translation. */
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  /** Bit 7: GUEST_LINEAR_ADDRESS (0x640A) is valid. */
  readonly linearAddressValid: boolean;
  /**
   * Bit 8 (meaningful when bit 7 is set): true when the access was to the translation of a linear address (the
   * final access); false when it was to a guest paging-structure entry during the page walk or an A/D update.
   */
  readonly finalTranslation: boolean;
  /** Bit 12: NMI unblocking due to IRET. */
  readonly nmiUnblockingByIret: boolean;
}

export function decodeEptViolation(qualification: number): EptViolationQualification {
  const bit = (n: number): boolean => (qualification & (1 << n)) !== 0;
  return {
    read: bit(0),
    write: bit(1),
    fetch: bit(2),
    readable: bit(3),
    writable: bit(4),
    executable: bit(5),
    linearAddressValid: bit(7),
    finalTranslation: bit(7) && bit(8),
    nmiUnblockingByIret: bit(12),
  };
}

export function encodeEptViolation(q: EptViolationQualification): number {
  const flags: readonly [boolean, number][] = [
    [q.read, 0], [q.write, 1], [q.fetch, 2], [q.readable, 3], [q.writable, 4], [q.executable, 5],
    [q.linearAddressValid, 7], [q.linearAddressValid && q.finalTranslation, 8], [q.nmiUnblockingByIret, 12],
  ];
  let value = 0;
  for (const [set, bit] of flags) if (set) value |= 1 << bit;
  return value >>> 0;
}

/** "write to a page that is read-only in the EPT (final access)". */
export function describeEptViolation(q: EptViolationQualification): string {
  const access = q.fetch ? 'instruction fetch' : q.write ? 'write' : 'read';
  const permissions = `${q.readable ? 'r' : '-'}${q.writable ? 'w' : '-'}${q.executable ? 'x' : '-'}`;
  const where = !q.linearAddressValid ? 'no linear address' : q.finalTranslation ? 'final access' : 'guest page-table walk';
  return `${access} denied by EPT permissions ${permissions} (${where})`;
}

// ---- APIC access (exit 44), SDM Vol. 3C Table 28-6 (27-6 in older editions) --------------------------------

const APIC_ACCESS_TYPES: Record<number, string> = {
  0: 'linear read', 1: 'linear write', 2: 'linear instruction fetch', 3: 'linear access during event delivery',
  10: 'guest-physical access during event delivery', 15: 'guest-physical access for an instruction fetch or during instruction execution',
};

export interface ApicAccessQualification {
  /** Bits 11:0: page offset of the access (linear accesses). */
  readonly offset: number;
  /** Bits 15:12: access type (0 linear read, 1 linear write, 2 linear fetch, 3 during event delivery, 10, 15). */
  readonly accessType: number;
}

export function decodeApicAccess(qualification: number): ApicAccessQualification {
  return { offset: qualification & 0xfff, accessType: (qualification >>> 12) & 0xf };
}

export function encodeApicAccess(q: ApicAccessQualification): number {
  return ((q.offset & 0xfff) | ((q.accessType & 0xf) << 12)) >>> 0;
}

/** "linear write at APIC-page offset 0x0b0". */
export function describeApicAccess(q: ApicAccessQualification): string {
  return `${APIC_ACCESS_TYPES[q.accessType] ?? `access type ${q.accessType}`} at APIC-page offset 0x${q.offset.toString(16).padStart(3, '0')}`;
}
