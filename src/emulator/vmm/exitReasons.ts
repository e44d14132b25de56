// Intel VT-x basic VM-exit reasons (SDM Vol. 3D Appendix C, "VMX Basic Exit Reasons"), with names and one-line
// explanations, and the VM_EXIT_REASON field layout (SDM Vol. 3C 28.2.1: bits 15:0 basic reason, bit 31
// VM-entry failure). Numbers 0–56, 58, 59, 62–64, 74, 75 are checked against Linux's uapi/asm/vmx.h and
// Xen's vmx.h (virtualization.md §6); 57, 60, 61 and 65–73 are marked unverified there and here.
// Every technique classifies its VMM entries by these numbers, so one dispatcher serves them all.

export interface ExitReasonInfo {
  readonly reason: number;
  /** SDM-style name, e.g. "Control-register accesses". */
  readonly name: string;
  /** Constant-style identifier, e.g. "CR_ACCESS" (Linux/Xen EXIT_REASON_* without the prefix). */
  readonly id: string;
  /** One line: what causes the exit. */
  readonly explanation: string;
  /** True when the number was not confirmed against a primary source (virtualization.md §6). */
  readonly unverified?: boolean;
}

const rows: readonly (readonly [number, string, string, string, boolean?])[] = [
  [0, 'EXCEPTION_NMI', 'Exception or non-maskable interrupt (NMI)', 'A guest exception whose bit is set in the exception bitmap (a #PF filtered further by PFEC mask/match), or an NMI with NMI exiting.'],
  [1, 'EXTERNAL_INTERRUPT', 'External interrupt', 'A hardware interrupt arrived while "external-interrupt exiting" (pin-based bit 0) was set.'],
  [2, 'TRIPLE_FAULT', 'Triple fault', 'The guest hit a fault while delivering a double fault; it would have shut down.'],
  [3, 'INIT_SIGNAL', 'INIT signal', 'An INIT signal arrived for the logical processor.'],
  [4, 'SIPI', 'Start-up IPI (SIPI)', 'A SIPI arrived while the guest was in the wait-for-SIPI state.'],
  [5, 'IO_SMI', 'I/O system-management interrupt (SMI)', 'An SMI immediately after an I/O instruction (dual-monitor treatment of SMM).'],
  [6, 'OTHER_SMI', 'Other SMI', 'An SMI not caused by an I/O instruction (dual-monitor treatment).'],
  [7, 'INTERRUPT_WINDOW', 'Interrupt window', 'The guest became able to take an interrupt (RFLAGS.IF = 1, no blocking) with "interrupt-window exiting" set.'],
  [8, 'NMI_WINDOW', 'NMI window', 'NMI blocking ended with "NMI-window exiting" set.'],
  [9, 'TASK_SWITCH', 'Task switch', 'The guest attempted a hardware task switch (always exits).'],
  [10, 'CPUID', 'CPUID', 'The guest executed CPUID (always exits).'],
  [11, 'GETSEC', 'GETSEC', 'The guest executed GETSEC (always exits).'],
  [12, 'HLT', 'HLT', 'The guest executed HLT with "HLT exiting" (primary bit 7) set.'],
  [13, 'INVD', 'INVD', 'The guest executed INVD (always exits).'],
  [14, 'INVLPG', 'INVLPG', 'The guest executed INVLPG with "INVLPG exiting" (primary bit 9) set.'],
  [15, 'RDPMC', 'RDPMC', 'The guest executed RDPMC with "RDPMC exiting" (primary bit 11) set.'],
  [16, 'RDTSC', 'RDTSC', 'The guest executed RDTSC with "RDTSC exiting" (primary bit 12) set.'],
  [17, 'RSM', 'RSM', 'The guest executed RSM in SMM (dual-monitor treatment).'],
  [18, 'VMCALL', 'VMCALL', 'The guest executed VMCALL: the hypercall path under hardware assist (always exits).'],
  [19, 'VMCLEAR', 'VMCLEAR', 'The guest executed VMCLEAR (VMX instructions in non-root operation always exit).'],
  [20, 'VMLAUNCH', 'VMLAUNCH', 'The guest executed VMLAUNCH.'],
  [21, 'VMPTRLD', 'VMPTRLD', 'The guest executed VMPTRLD.'],
  [22, 'VMPTRST', 'VMPTRST', 'The guest executed VMPTRST.'],
  [23, 'VMREAD', 'VMREAD', 'The guest executed VMREAD (unless VMCS shadowing lets it read a shadow VMCS).'],
  [24, 'VMRESUME', 'VMRESUME', 'The guest executed VMRESUME.'],
  [25, 'VMWRITE', 'VMWRITE', 'The guest executed VMWRITE (unless VMCS shadowing lets it write a shadow VMCS).'],
  [26, 'VMXOFF', 'VMXOFF', 'The guest executed VMXOFF.'],
  [27, 'VMXON', 'VMXON', 'The guest executed VMXON.'],
  [28, 'CR_ACCESS', 'Control-register accesses', 'MOV to/from CR0/CR3/CR4/CR8, CLTS or LMSW as the CR masks, read shadows, CR3-target list and CR3/CR8 exiting controls decide; qualification: Table 28-3.'],
  [29, 'DR_ACCESS', 'MOV DR', 'MOV to or from a debug register with "MOV-DR exiting" (primary bit 23) set.'],
  [30, 'IO_INSTRUCTION', 'I/O instruction', 'IN/OUT/INS/OUTS under unconditional I/O exiting (primary bit 24) or a set bit in I/O bitmap A/B; qualification: Table 28-5.'],
  [31, 'MSR_READ', 'RDMSR', 'RDMSR of an MSR whose read bit is set in the MSR bitmap, or any RDMSR without MSR bitmaps.'],
  [32, 'MSR_WRITE', 'WRMSR', 'WRMSR of an MSR whose write bit is set in the MSR bitmap, or any WRMSR without MSR bitmaps.'],
  [33, 'INVALID_STATE', 'VM-entry failure due to invalid guest state', 'VMLAUNCH/VMRESUME found the guest-state area inconsistent (reported with bit 31 set).'],
  [34, 'MSR_LOAD_FAIL', 'VM-entry failure due to MSR loading', 'An entry in the VM-entry MSR-load area could not be loaded (bit 31 set).'],
  [36, 'MWAIT_INSTRUCTION', 'MWAIT', 'The guest executed MWAIT with "MWAIT exiting" (primary bit 10) set.'],
  [37, 'MONITOR_TRAP_FLAG', 'Monitor trap flag', 'The monitor trap flag (primary bit 27) made the exit after one guest instruction: hardware single-step.'],
  [39, 'MONITOR_INSTRUCTION', 'MONITOR', 'The guest executed MONITOR with "MONITOR exiting" (primary bit 29) set.'],
  [40, 'PAUSE_INSTRUCTION', 'PAUSE', 'PAUSE with "PAUSE exiting" (primary bit 30), or a spin loop detected by PAUSE-loop exiting.'],
  [41, 'MCE_DURING_VMENTRY', 'VM-entry failure due to machine-check event', 'A machine check occurred during VM entry (bit 31 set).'],
  [43, 'TPR_BELOW_THRESHOLD', 'TPR below threshold', 'The virtual TPR dropped below the TPR threshold (TPR shadow in use).'],
  [44, 'APIC_ACCESS', 'APIC access', 'The guest accessed the APIC-access page with "virtualize APIC accesses" set.'],
  [45, 'EOI_INDUCED', 'Virtualized EOI', 'EOI virtualization for a vector set in the EOI-exit bitmap.'],
  [46, 'GDTR_IDTR', 'Access to GDTR or IDTR', 'LGDT, LIDT, SGDT or SIDT with "descriptor-table exiting" (secondary bit 2) set: the red-pill fix.'],
  [47, 'LDTR_TR', 'Access to LDTR or TR', 'LLDT, LTR, SLDT or STR with "descriptor-table exiting" (secondary bit 2) set.'],
  [48, 'EPT_VIOLATION', 'EPT violation', 'A guest-physical access the EPT entries do not permit (or a non-present entry); qualification: Table 28-7.'],
  [49, 'EPT_MISCONFIG', 'EPT misconfiguration', 'An EPT paging-structure entry is misconfigured (reserved bits, write-only, bad memory type).'],
  [50, 'INVEPT', 'INVEPT', 'The guest executed INVEPT.'],
  [51, 'RDTSCP', 'RDTSCP', 'RDTSCP with "RDTSC exiting" and "enable RDTSCP" set.'],
  [52, 'PREEMPTION_TIMER', 'VMX-preemption timer expired', 'The VMX-preemption timer (pin-based bit 6) counted down to zero.'],
  [53, 'INVVPID', 'INVVPID', 'The guest executed INVVPID.'],
  [54, 'WBINVD', 'WBINVD or WBNOINVD', 'WBINVD/WBNOINVD with "WBINVD exiting" (secondary bit 6) set.'],
  [55, 'XSETBV', 'XSETBV', 'The guest executed XSETBV (always exits).'],
  [56, 'APIC_WRITE', 'APIC write', 'A write to the virtual-APIC page that must be virtualized by the VMM (APIC-register virtualization).'],
  [57, 'RDRAND', 'RDRAND', 'RDRAND with "RDRAND exiting" set.', true],
  [58, 'INVPCID', 'INVPCID', 'INVPCID with "INVLPG exiting" and "enable INVPCID" set.'],
  [59, 'VMFUNC', 'VMFUNC', 'VMFUNC for a function not enabled, or a failing EPTP switch.'],
  [60, 'ENCLS', 'ENCLS', 'ENCLS (SGX) with the leaf set in the ENCLS-exiting bitmap.', true],
  [61, 'RDSEED', 'RDSEED', 'RDSEED with "RDSEED exiting" set.', true],
  [62, 'PML_FULL', 'Page-modification log full', 'The page-modification log (secondary bit 17) filled up.'],
  [63, 'XSAVES', 'XSAVES', 'XSAVES with an XSS-exiting bitmap bit set.'],
  [64, 'XRSTORS', 'XRSTORS', 'XRSTORS with an XSS-exiting bitmap bit set.'],
  [65, 'PCONFIG', 'PCONFIG', 'PCONFIG with "PCONFIG exiting" set.', true],
  [66, 'SPP_EVENT', 'SPP-related event', 'A sub-page write-permission violation or SPP table miss.', true],
  [67, 'UMWAIT', 'UMWAIT', 'UMWAIT with "enable user wait and pause" and RDTSC exiting set.', true],
  [68, 'TPAUSE', 'TPAUSE', 'TPAUSE with "enable user wait and pause" and RDTSC exiting set.', true],
  [69, 'LOADIWKEY', 'LOADIWKEY', 'LOADIWKEY with "LOADIWKEY exiting" set.', true],
  [74, 'BUS_LOCK', 'Bus lock', 'A bus lock was asserted with "bus-lock detection" set.'],
  [75, 'NOTIFY', 'Instruction timeout (notify)', 'The guest stayed in one instruction longer than the notify window.'],
];

/** All known basic exit reasons, ascending. */
export const EXIT_REASONS: readonly ExitReasonInfo[] = rows.map(([reason, id, name, explanation, unverified]) =>
  unverified ? { reason, id, name, explanation, unverified } : { reason, id, name, explanation },
);

const byNumber: readonly (ExitReasonInfo | undefined)[] = (() => {
  const table: (ExitReasonInfo | undefined)[] = new Array(128).fill(undefined);
  for (const info of EXIT_REASONS) table[info.reason] = info;
  return table;
})();

/** The basic exit reasons HyperStep's hardware-assisted VMM produces (virtualization.md §6 "HyperStep subset"). */
export const HYPERSTEP_EXIT_SUBSET: readonly number[] = [0, 1, 2, 7, 9, 10, 12, 14, 16, 18, 28, 29, 30, 31, 32, 43, 44, 46, 47, 48, 49];

/** Named constants for the reasons engines use in code. */
export const ExitReason = {
  ExceptionOrNmi: 0,
  ExternalInterrupt: 1,
  TripleFault: 2,
  InterruptWindow: 7,
  TaskSwitch: 9,
  Cpuid: 10,
  Hlt: 12,
  Invd: 13,
  Invlpg: 14,
  Rdpmc: 15,
  Rdtsc: 16,
  Vmcall: 18,
  CrAccess: 28,
  MovDr: 29,
  IoInstruction: 30,
  Rdmsr: 31,
  Wrmsr: 32,
  InvalidGuestState: 33,
  TprBelowThreshold: 43,
  ApicAccess: 44,
  GdtrIdtrAccess: 46,
  LdtrTrAccess: 47,
  EptViolation: 48,
  EptMisconfiguration: 49,
  Invept: 50,
  Invvpid: 53,
  Wbinvd: 54,
} as const;

export function exitReasonInfo(reason: number): ExitReasonInfo | undefined {
  return Number.isInteger(reason) && reason >= 0 && reason < byNumber.length ? byNumber[reason] : undefined;
}

/** "Control-register accesses" or "unknown exit reason 35". */
export function exitReasonName(reason: number): string {
  return exitReasonInfo(reason)?.name ?? `unknown exit reason ${reason}`;
}

/** The VM_EXIT_REASON field (0x4402) split into its parts (SDM Vol. 3C 28.2.1, "Basic VM-Exit Information"). */
export interface ExitReasonField {
  readonly basicReason: number;
  /** Bit 26: a bus lock was asserted (with bus-lock detection). */
  readonly busLock: boolean;
  /** Bit 27: the exit was incident to enclave mode. */
  readonly enclaveMode: boolean;
  /** Bit 28: pending MTF exit. */
  readonly pendingMtf: boolean;
  /** Bit 29: exit from VMX root operation (dual-monitor SMM). */
  readonly fromVmxRoot: boolean;
  /** Bit 31: VM-entry failure. */
  readonly entryFailure: boolean;
}

export function decodeExitReasonField(value: number): ExitReasonField {
  return {
    basicReason: value & 0xffff,
    busLock: (value & (1 << 26)) !== 0,
    enclaveMode: (value & (1 << 27)) !== 0,
    pendingMtf: (value & (1 << 28)) !== 0,
    fromVmxRoot: (value & (1 << 29)) !== 0,
    entryFailure: (value & 0x80000000) !== 0,
  };
}

export function encodeExitReasonField(basicReason: number, entryFailure = false): number {
  return ((basicReason & 0xffff) | (entryFailure ? 0x80000000 : 0)) >>> 0;
}
