// The one layout table of the CPU's architectural state. Every register, hidden descriptor cache, MSR and
// lazy-flag slot lives at a fixed index of a single Int32Array (plus one Float64 slot area for counters
// that outgrow 32 bits), so saveState()/loadState() are typed-array copies and the hot loop reads plain
// indexed slots. Indices are derived from LAYOUT below; nothing else hard-codes a slot number.

/** One named run of 32-bit slots. */
interface SlotRun {
  readonly name: string;
  readonly count: number;
}

/** The layout, in order. Counts are 32-bit slots. */
export const LAYOUT: readonly SlotRun[] = [
  { name: 'gpr', count: 8 }, // EAX ECX EDX EBX ESP EBP ESI EDI (SDM Vol. 1 3.4.1 register numbering)
  { name: 'eip', count: 1 },
  { name: 'eflags', count: 1 }, // materialised bits; arithmetic bits in LAZY_MASK come from the lazy slots
  { name: 'lazyMask', count: 1 }, // which of CF PF AF ZF SF OF are pending in the lazy slots
  { name: 'lazyKind', count: 1 }, // LazyKind of the last flag-setting operation
  { name: 'lazyOp1', count: 1 },
  { name: 'lazyOp2', count: 1 },
  { name: 'lazyResult', count: 1 },
  { name: 'lazyBits', count: 1 }, // 8, 16 or 32
  { name: 'segSelector', count: 6 }, // ES CS SS DS FS GS (encoding order of Sreg, SDM Vol. 2 Table 3-6)
  { name: 'segBase', count: 6 }, // hidden descriptor cache (SDM Vol. 3A 3.4.3)
  { name: 'segLimit', count: 6 }, // scaled byte limit
  { name: 'segAccess', count: 6 }, // descriptor bits 8..23 of the high dword (type, S, DPL, P, AVL, D/B, G)
  { name: 'segValidLow', count: 6 }, // lowest valid offset (expand-down: limit+1)
  { name: 'segValidHigh', count: 6 }, // highest valid offset
  { name: 'segRights', count: 6 }, // SegmentRight bits: usable, readable, writable
  { name: 'gdtr', count: 2 }, // base, limit
  { name: 'idtr', count: 2 },
  { name: 'ldtr', count: 4 }, // selector, base, limit, access
  { name: 'tr', count: 4 }, // selector, base, limit, access
  { name: 'cr', count: 5 }, // CR0..CR4 (CR1 reserved, kept zero)
  { name: 'dr', count: 8 }, // DR0..DR7 (DR4/DR5 alias DR6/DR7 when CR4.DE = 0)
  { name: 'cpl', count: 1 },
  { name: 'mode', count: 1 }, // CpuMode bits: halted, interrupt shadow, stopped by shutdown
  { name: 'msr', count: 2 * 16 }, // lo/hi pairs, indexed by MsrSlot
  { name: 'pendingEvent', count: 1 }, // reserved for the VMM (injected event), -1 when none
];

function buildIndex(): Record<string, number> {
  const index: Record<string, number> = {};
  let next = 0;
  for (const run of LAYOUT) {
    index[run.name] = next;
    next += run.count;
  }
  index['__size'] = next;
  return index;
}

const SLOT = buildIndex();

/** Total 32-bit slots. */
export const STATE_SLOTS = SLOT['__size']!;

export const GPR = SLOT['gpr']!;
export const EIP = SLOT['eip']!;
export const EFLAGS = SLOT['eflags']!;
export const LAZY_MASK = SLOT['lazyMask']!;
export const LAZY_KIND = SLOT['lazyKind']!;
export const LAZY_OP1 = SLOT['lazyOp1']!;
export const LAZY_OP2 = SLOT['lazyOp2']!;
export const LAZY_RESULT = SLOT['lazyResult']!;
export const LAZY_BITS = SLOT['lazyBits']!;
export const SEG_SELECTOR = SLOT['segSelector']!;
export const SEG_BASE = SLOT['segBase']!;
export const SEG_LIMIT = SLOT['segLimit']!;
export const SEG_ACCESS = SLOT['segAccess']!;
export const SEG_VALID_LOW = SLOT['segValidLow']!;
export const SEG_VALID_HIGH = SLOT['segValidHigh']!;
export const SEG_RIGHTS = SLOT['segRights']!;
export const GDTR_BASE = SLOT['gdtr']!;
export const GDTR_LIMIT = GDTR_BASE + 1;
export const IDTR_BASE = SLOT['idtr']!;
export const IDTR_LIMIT = IDTR_BASE + 1;
export const LDTR_SELECTOR = SLOT['ldtr']!;
export const LDTR_BASE = LDTR_SELECTOR + 1;
export const LDTR_LIMIT = LDTR_SELECTOR + 2;
export const LDTR_ACCESS = LDTR_SELECTOR + 3;
export const TR_SELECTOR = SLOT['tr']!;
export const TR_BASE = TR_SELECTOR + 1;
export const TR_LIMIT = TR_SELECTOR + 2;
export const TR_ACCESS = TR_SELECTOR + 3;
export const CR = SLOT['cr']!;
export const DR = SLOT['dr']!;
export const CPL = SLOT['cpl']!;
export const MODE = SLOT['mode']!;
export const MSR = SLOT['msr']!;
export const PENDING_EVENT = SLOT['pendingEvent']!;

/** Float64 counters, stored after the Int32 slots in the same buffer. */
export const COUNTER_RETIRED = 0; // instructions retired since reset (drives the TSC without a clock)
export const COUNTER_STEP_FROM = 1; // retired count when a TF single step began (MODE.SingleStep)
export const COUNTER_SLOTS = 2;

/** Byte length of the whole state buffer (Float64 area first, so it stays 8-byte aligned). */
export const STATE_BYTES = COUNTER_SLOTS * 8 + STATE_SLOTS * 4;

/** Register numbers (SDM Vol. 2 Table 2-1/2-2 `reg` field). */
export const enum Reg {
  EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7,
}

/** Segment register numbers (Sreg encoding). */
export const enum Seg {
  ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5,
}

export const SEGMENT_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
export const GPR_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;

/** Bits of SEG_RIGHTS: what the loaded descriptor allows, checked on every access. */
export const enum SegmentRight {
  Usable = 1, // not a null selector (protected mode) — any access through a null selector is #GP(0)
  Readable = 2,
  Writable = 4,
  Big = 8, // D/B bit: 32-bit default operand size (CS) / 32-bit stack pointer (SS)
}

/** MODE bits. */
export const enum CpuMode {
  Halted = 1,
  InterruptShadow = 2, // one instruction after STI / MOV SS / POP SS (SDM Vol. 3A 6.8.3)
  Shutdown = 4,
  SingleStep = 8, // EFLAGS.TF was set when the current instruction began: #DB after it
}

/** EFLAGS bits (SDM Vol. 1 3.4.3). */
export const enum Flag {
  CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9,
  DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17, AC = 1 << 18,
  VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21,
}

export const ARITH_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/** Control-register bits used by the CPU (SDM Vol. 3A 2.5). */
export const enum Cr0 { PE = 1, MP = 2, EM = 4, TS = 8, ET = 16, NE = 32, WP = 1 << 16, AM = 1 << 18, PG = 1 << 31 }
export const enum Cr4 { VME = 1, PVI = 2, TSD = 4, DE = 8, PSE = 16, PAE = 32, PGE = 128, VMXE = 1 << 13 }

/** MSRs kept in the MSR slots: architectural number → slot (lo at MSR+2*slot, hi at MSR+2*slot+1). */
export const MSR_SLOTS: ReadonlyMap<number, number> = new Map<number, number>([
  [0x10, 0], // IA32_TIME_STAMP_COUNTER (offset added to the retired-instruction count)
  [0x3a, 1], // IA32_FEATURE_CONTROL
  [0x174, 2], // IA32_SYSENTER_CS
  [0x175, 3], // IA32_SYSENTER_ESP
  [0x176, 4], // IA32_SYSENTER_EIP
  [0x480, 5], // IA32_VMX_BASIC
  [0x481, 6], // IA32_VMX_PINBASED_CTLS
  [0x482, 7], // IA32_VMX_PROCBASED_CTLS
  [0x483, 8], // IA32_VMX_EXIT_CTLS
  [0x484, 9], // IA32_VMX_ENTRY_CTLS
  [0x485, 10], // IA32_VMX_MISC
  [0x486, 11], // IA32_VMX_CR0_FIXED0
  [0x487, 12], // IA32_VMX_CR0_FIXED1
  [0x488, 13], // IA32_VMX_CR4_FIXED0
  [0x489, 14], // IA32_VMX_CR4_FIXED1
  [0x48b, 15], // IA32_VMX_PROCBASED_CTLS2 (0x48A IA32_VMX_VMCS_ENUM is computed, see msr.ts)
]);
