// VMX control bits, VM-instruction error numbers and the VMCS encodings the CPU's VMX implementation uses
// (Intel SDM Vol. 3C 25.6-25.8 control fields, 30.4 "VM Instruction Error Numbers"; encodings from
// Appendix B, the same ones ../vmm/vmcsFields.ts lists by name).

/** Pin-based VM-execution controls (SDM 25.6.1, Table 25-5). */
export const PinControl = { ExternalInterruptExiting: 1 << 0, NmiExiting: 1 << 3, VirtualNmis: 1 << 5 } as const;

/** Primary processor-based VM-execution controls (SDM 25.6.2, Table 25-6). */
export const ProcControl = {
  InterruptWindowExiting: 1 << 2,
  UseTscOffsetting: 1 << 3,
  HltExiting: 1 << 7,
  InvlpgExiting: 1 << 9,
  MwaitExiting: 1 << 10,
  RdpmcExiting: 1 << 11,
  RdtscExiting: 1 << 12,
  Cr3LoadExiting: 1 << 15,
  Cr3StoreExiting: 1 << 16,
  UseTprShadow: 1 << 21,
  MovDrExiting: 1 << 23,
  UnconditionalIoExiting: 1 << 24,
  UseIoBitmaps: 1 << 25,
  UseMsrBitmaps: 1 << 28,
  ActivateSecondaryControls: 1 << 31,
} as const;

/** Secondary processor-based VM-execution controls (SDM 25.6.2, Table 25-7). */
export const Proc2Control = {
  VirtualizeApicAccesses: 1 << 0,
  EnableEpt: 1 << 1,
  DescriptorTableExiting: 1 << 2,
  WbinvdExiting: 1 << 6,
  UnrestrictedGuest: 1 << 7,
} as const;

/** VM-exit controls (SDM 25.7.1) and VM-entry controls (25.8.1) that matter in 32-bit mode. */
export const ExitControl = { HostAddressSpaceSize: 1 << 9, AcknowledgeInterruptOnExit: 1 << 15 } as const;
export const EntryControl = { Ia32eModeGuest: 1 << 9 } as const;

/** VM-instruction error numbers (SDM Vol. 3C 30.4, Table 30-1). */
export const VmInstructionError = {
  VmcallInRoot: 1,
  VmclearInvalidAddress: 2,
  VmclearVmxonPointer: 3,
  VmlaunchNonClearVmcs: 4,
  VmresumeNonLaunchedVmcs: 5,
  VmresumeAfterVmxoff: 6,
  EntryInvalidControlFields: 7,
  EntryInvalidHostState: 8,
  VmptrldInvalidAddress: 9,
  VmptrldVmxonPointer: 10,
  VmptrldWrongRevision: 11,
  UnsupportedVmcsComponent: 12,
  VmwriteReadOnlyComponent: 13,
  VmxonInRoot: 15,
  EntryEventsBlockedByMovSs: 26,
  InvalidInveptOperand: 28,
} as const;

/** VMCS field encodings used by the implementation (SDM Vol. 3D Appendix B). */
export const F = {
  GUEST_ES_SELECTOR: 0x0800, HOST_ES_SELECTOR: 0x0c00, HOST_TR_SELECTOR: 0x0c0c,
  GUEST_LDTR_SELECTOR: 0x080c, GUEST_TR_SELECTOR: 0x080e,
  IO_BITMAP_A: 0x2000, IO_BITMAP_B: 0x2002, MSR_BITMAP: 0x2004, TSC_OFFSET: 0x2010,
  VIRTUAL_APIC_ADDRESS: 0x2012, APIC_ACCESS_ADDRESS: 0x2014, EPT_POINTER: 0x201a,
  GUEST_PHYSICAL_ADDRESS: 0x2400, VMCS_LINK_POINTER: 0x2800,
  PIN_CONTROLS: 0x4000, PROC_CONTROLS: 0x4002, EXCEPTION_BITMAP: 0x4004, PF_ERROR_MASK: 0x4006, PF_ERROR_MATCH: 0x4008,
  CR3_TARGET_COUNT: 0x400a, EXIT_CONTROLS: 0x400c, ENTRY_CONTROLS: 0x4012, ENTRY_INTR_INFO: 0x4016,
  ENTRY_EXCEPTION_ERROR_CODE: 0x4018, ENTRY_INSTRUCTION_LEN: 0x401a, TPR_THRESHOLD: 0x401c, PROC2_CONTROLS: 0x401e,
  VM_INSTRUCTION_ERROR: 0x4400, EXIT_REASON: 0x4402, EXIT_INTR_INFO: 0x4404, EXIT_INTR_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO: 0x4408, IDT_VECTORING_ERROR: 0x440a, EXIT_INSTRUCTION_LEN: 0x440c, VMX_INSTRUCTION_INFO: 0x440e,
  GUEST_ES_LIMIT: 0x4800, GUEST_LDTR_LIMIT: 0x480c, GUEST_TR_LIMIT: 0x480e, GUEST_GDTR_LIMIT: 0x4810, GUEST_IDTR_LIMIT: 0x4812,
  GUEST_ES_AR: 0x4814, GUEST_LDTR_AR: 0x4820, GUEST_TR_AR: 0x4822, GUEST_INTERRUPTIBILITY: 0x4824, GUEST_ACTIVITY: 0x4826,
  GUEST_SYSENTER_CS: 0x482a, HOST_SYSENTER_CS: 0x4c00,
  CR0_MASK: 0x6000, CR4_MASK: 0x6002, CR0_SHADOW: 0x6004, CR4_SHADOW: 0x6006, CR3_TARGET0: 0x6008,
  EXIT_QUALIFICATION: 0x6400, GUEST_LINEAR_ADDRESS: 0x640a,
  GUEST_CR0: 0x6800, GUEST_CR3: 0x6802, GUEST_CR4: 0x6804, GUEST_ES_BASE: 0x6806, GUEST_LDTR_BASE: 0x6812, GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816, GUEST_IDTR_BASE: 0x6818, GUEST_DR7: 0x681a, GUEST_RSP: 0x681c, GUEST_RIP: 0x681e, GUEST_RFLAGS: 0x6820,
  GUEST_SYSENTER_ESP: 0x6824, GUEST_SYSENTER_EIP: 0x6826,
  HOST_CR0: 0x6c00, HOST_CR3: 0x6c02, HOST_CR4: 0x6c04, HOST_FS_BASE: 0x6c06, HOST_GS_BASE: 0x6c08, HOST_TR_BASE: 0x6c0a,
  HOST_GDTR_BASE: 0x6c0c, HOST_IDTR_BASE: 0x6c0e, HOST_SYSENTER_ESP: 0x6c10, HOST_SYSENTER_EIP: 0x6c12, HOST_RSP: 0x6c14, HOST_RIP: 0x6c16,
} as const;

/** VM-exit interruption-information types (SDM 25.9.2, Table 25-19). */
export const EventType = { External: 0, Nmi: 2, HardwareException: 3, SoftwareInterrupt: 4, PrivilegedSoftwareException: 5, SoftwareException: 6 } as const;
