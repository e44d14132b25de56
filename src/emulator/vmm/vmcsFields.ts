// VMCS field encodings (SDM Vol. 3D Appendix B, "Field Encoding in VMCS") as one table, plus the decoder of the
// 32-bit encoding itself (SDM Vol. 3C 25.11.2, "VMREAD, VMWRITE, and Encodings of VMCS Fields"): bit 0 access
// type (0 full, 1 high half of a 64-bit field), bits 9:1 index, bits 11:10 type (0 control, 1 VM-exit
// information, 2 guest state, 3 host state), bits 14:13 width (0 16-bit, 1 64-bit, 2 32-bit, 3 natural).
// Encodings as in Linux asm/vmx.h `enum vmcs_field` and Xen vmcs.h (virtualization.md §6). The
// hardware-assisted engine (issue 6) stores its VMCS keyed by these encodings; VMREAD/VMWRITE validate
// against this table.

export type VmcsWidth = '16' | '64' | '32' | 'natural';
export type VmcsFieldType = 'control' | 'exit-information' | 'guest-state' | 'host-state';

export interface VmcsFieldInfo {
  readonly encoding: number;
  /** Linux/Xen constant name, e.g. "GUEST_RIP". */
  readonly name: string;
  readonly width: VmcsWidth;
  readonly type: VmcsFieldType;
}

export interface VmcsEncodingParts {
  readonly highAccess: boolean;
  readonly index: number;
  readonly type: VmcsFieldType;
  readonly width: VmcsWidth;
}

const TYPES: readonly VmcsFieldType[] = ['control', 'exit-information', 'guest-state', 'host-state'];
const WIDTHS: readonly VmcsWidth[] = ['16', '64', '32', 'natural'];

/** Splits an encoding into its bit fields; undefined if reserved bits (31:15, 12) are set. */
export function decodeVmcsEncoding(encoding: number): VmcsEncodingParts | undefined {
  if (!Number.isInteger(encoding) || encoding < 0 || encoding > 0x7fff || (encoding & 0x1000) !== 0) return undefined;
  return {
    highAccess: (encoding & 1) !== 0,
    index: (encoding >>> 1) & 0x1ff,
    type: TYPES[(encoding >>> 10) & 3]!,
    width: WIDTHS[(encoding >>> 13) & 3]!,
  };
}

// [encoding, name] rows grouped by width and type; width/type are derived from the encoding and checked by the
// tests against the group each row is listed in.
const groups: readonly { width: VmcsWidth; type: VmcsFieldType; rows: readonly (readonly [number, string])[] }[] = [
  { width: '16', type: 'control', rows: [[0x0000, 'VIRTUAL_PROCESSOR_ID'], [0x0002, 'POSTED_INTR_NV'], [0x0004, 'EPTP_INDEX']] },
  {
    width: '16',
    type: 'guest-state',
    rows: [
      [0x0800, 'GUEST_ES_SELECTOR'], [0x0802, 'GUEST_CS_SELECTOR'], [0x0804, 'GUEST_SS_SELECTOR'], [0x0806, 'GUEST_DS_SELECTOR'],
      [0x0808, 'GUEST_FS_SELECTOR'], [0x080a, 'GUEST_GS_SELECTOR'], [0x080c, 'GUEST_LDTR_SELECTOR'], [0x080e, 'GUEST_TR_SELECTOR'],
      [0x0810, 'GUEST_INTR_STATUS'], [0x0812, 'GUEST_PML_INDEX'],
    ],
  },
  {
    width: '16',
    type: 'host-state',
    rows: [
      [0x0c00, 'HOST_ES_SELECTOR'], [0x0c02, 'HOST_CS_SELECTOR'], [0x0c04, 'HOST_SS_SELECTOR'], [0x0c06, 'HOST_DS_SELECTOR'],
      [0x0c08, 'HOST_FS_SELECTOR'], [0x0c0a, 'HOST_GS_SELECTOR'], [0x0c0c, 'HOST_TR_SELECTOR'],
    ],
  },
  {
    width: '64',
    type: 'control',
    rows: [
      [0x2000, 'IO_BITMAP_A'], [0x2002, 'IO_BITMAP_B'], [0x2004, 'MSR_BITMAP'], [0x2006, 'VM_EXIT_MSR_STORE_ADDR'],
      [0x2008, 'VM_EXIT_MSR_LOAD_ADDR'], [0x200a, 'VM_ENTRY_MSR_LOAD_ADDR'], [0x200c, 'EXECUTIVE_VMCS_POINTER'],
      [0x200e, 'PML_ADDRESS'], [0x2010, 'TSC_OFFSET'], [0x2012, 'VIRTUAL_APIC_PAGE_ADDR'], [0x2014, 'APIC_ACCESS_ADDR'],
      [0x2016, 'POSTED_INTR_DESC_ADDR'], [0x2018, 'VM_FUNCTION_CONTROL'], [0x201a, 'EPT_POINTER'],
      [0x201c, 'EOI_EXIT_BITMAP0'], [0x201e, 'EOI_EXIT_BITMAP1'], [0x2020, 'EOI_EXIT_BITMAP2'], [0x2022, 'EOI_EXIT_BITMAP3'],
      [0x2024, 'EPTP_LIST_ADDRESS'], [0x2026, 'VMREAD_BITMAP'], [0x2028, 'VMWRITE_BITMAP'], [0x202a, 'VE_INFORMATION_ADDRESS'],
      [0x202c, 'XSS_EXIT_BITMAP'], [0x202e, 'ENCLS_EXITING_BITMAP'], [0x2032, 'TSC_MULTIPLIER'],
    ],
  },
  { width: '64', type: 'exit-information', rows: [[0x2400, 'GUEST_PHYSICAL_ADDRESS']] },
  {
    width: '64',
    type: 'guest-state',
    rows: [
      [0x2800, 'VMCS_LINK_POINTER'], [0x2802, 'GUEST_IA32_DEBUGCTL'], [0x2804, 'GUEST_IA32_PAT'], [0x2806, 'GUEST_IA32_EFER'],
      [0x2808, 'GUEST_IA32_PERF_GLOBAL_CTRL'], [0x280a, 'GUEST_PDPTR0'], [0x280c, 'GUEST_PDPTR1'], [0x280e, 'GUEST_PDPTR2'],
      [0x2810, 'GUEST_PDPTR3'], [0x2812, 'GUEST_BNDCFGS'],
    ],
  },
  { width: '64', type: 'host-state', rows: [[0x2c00, 'HOST_IA32_PAT'], [0x2c02, 'HOST_IA32_EFER'], [0x2c04, 'HOST_IA32_PERF_GLOBAL_CTRL']] },
  {
    width: '32',
    type: 'control',
    rows: [
      [0x4000, 'PIN_BASED_VM_EXEC_CONTROL'], [0x4002, 'CPU_BASED_VM_EXEC_CONTROL'], [0x4004, 'EXCEPTION_BITMAP'],
      [0x4006, 'PAGE_FAULT_ERROR_CODE_MASK'], [0x4008, 'PAGE_FAULT_ERROR_CODE_MATCH'], [0x400a, 'CR3_TARGET_COUNT'],
      [0x400c, 'VM_EXIT_CONTROLS'], [0x400e, 'VM_EXIT_MSR_STORE_COUNT'], [0x4010, 'VM_EXIT_MSR_LOAD_COUNT'],
      [0x4012, 'VM_ENTRY_CONTROLS'], [0x4014, 'VM_ENTRY_MSR_LOAD_COUNT'], [0x4016, 'VM_ENTRY_INTR_INFO_FIELD'],
      [0x4018, 'VM_ENTRY_EXCEPTION_ERROR_CODE'], [0x401a, 'VM_ENTRY_INSTRUCTION_LEN'], [0x401c, 'TPR_THRESHOLD'],
      [0x401e, 'SECONDARY_VM_EXEC_CONTROL'], [0x4020, 'PLE_GAP'], [0x4022, 'PLE_WINDOW'],
    ],
  },
  {
    width: '32',
    type: 'exit-information',
    rows: [
      [0x4400, 'VM_INSTRUCTION_ERROR'], [0x4402, 'VM_EXIT_REASON'], [0x4404, 'VM_EXIT_INTR_INFO'], [0x4406, 'VM_EXIT_INTR_ERROR_CODE'],
      [0x4408, 'IDT_VECTORING_INFO_FIELD'], [0x440a, 'IDT_VECTORING_ERROR_CODE'], [0x440c, 'VM_EXIT_INSTRUCTION_LEN'],
      [0x440e, 'VMX_INSTRUCTION_INFO'],
    ],
  },
  {
    width: '32',
    type: 'guest-state',
    rows: [
      [0x4800, 'GUEST_ES_LIMIT'], [0x4802, 'GUEST_CS_LIMIT'], [0x4804, 'GUEST_SS_LIMIT'], [0x4806, 'GUEST_DS_LIMIT'],
      [0x4808, 'GUEST_FS_LIMIT'], [0x480a, 'GUEST_GS_LIMIT'], [0x480c, 'GUEST_LDTR_LIMIT'], [0x480e, 'GUEST_TR_LIMIT'],
      [0x4810, 'GUEST_GDTR_LIMIT'], [0x4812, 'GUEST_IDTR_LIMIT'], [0x4814, 'GUEST_ES_AR_BYTES'], [0x4816, 'GUEST_CS_AR_BYTES'],
      [0x4818, 'GUEST_SS_AR_BYTES'], [0x481a, 'GUEST_DS_AR_BYTES'], [0x481c, 'GUEST_FS_AR_BYTES'], [0x481e, 'GUEST_GS_AR_BYTES'],
      [0x4820, 'GUEST_LDTR_AR_BYTES'], [0x4822, 'GUEST_TR_AR_BYTES'], [0x4824, 'GUEST_INTERRUPTIBILITY_INFO'],
      [0x4826, 'GUEST_ACTIVITY_STATE'], [0x4828, 'GUEST_SMBASE'], [0x482a, 'GUEST_SYSENTER_CS'], [0x482e, 'VMX_PREEMPTION_TIMER_VALUE'],
    ],
  },
  { width: '32', type: 'host-state', rows: [[0x4c00, 'HOST_IA32_SYSENTER_CS']] },
  {
    width: 'natural',
    type: 'control',
    rows: [
      [0x6000, 'CR0_GUEST_HOST_MASK'], [0x6002, 'CR4_GUEST_HOST_MASK'], [0x6004, 'CR0_READ_SHADOW'], [0x6006, 'CR4_READ_SHADOW'],
      [0x6008, 'CR3_TARGET_VALUE0'], [0x600a, 'CR3_TARGET_VALUE1'], [0x600c, 'CR3_TARGET_VALUE2'], [0x600e, 'CR3_TARGET_VALUE3'],
    ],
  },
  {
    width: 'natural',
    type: 'exit-information',
    rows: [
      [0x6400, 'EXIT_QUALIFICATION'], [0x6402, 'IO_RCX'], [0x6404, 'IO_RSI'], [0x6406, 'IO_RDI'], [0x6408, 'IO_RIP'],
      [0x640a, 'GUEST_LINEAR_ADDRESS'],
    ],
  },
  {
    width: 'natural',
    type: 'guest-state',
    rows: [
      [0x6800, 'GUEST_CR0'], [0x6802, 'GUEST_CR3'], [0x6804, 'GUEST_CR4'], [0x6806, 'GUEST_ES_BASE'], [0x6808, 'GUEST_CS_BASE'],
      [0x680a, 'GUEST_SS_BASE'], [0x680c, 'GUEST_DS_BASE'], [0x680e, 'GUEST_FS_BASE'], [0x6810, 'GUEST_GS_BASE'],
      [0x6812, 'GUEST_LDTR_BASE'], [0x6814, 'GUEST_TR_BASE'], [0x6816, 'GUEST_GDTR_BASE'], [0x6818, 'GUEST_IDTR_BASE'],
      [0x681a, 'GUEST_DR7'], [0x681c, 'GUEST_RSP'], [0x681e, 'GUEST_RIP'], [0x6820, 'GUEST_RFLAGS'],
      [0x6822, 'GUEST_PENDING_DBG_EXCEPTIONS'], [0x6824, 'GUEST_SYSENTER_ESP'], [0x6826, 'GUEST_SYSENTER_EIP'],
    ],
  },
  {
    width: 'natural',
    type: 'host-state',
    rows: [
      [0x6c00, 'HOST_CR0'], [0x6c02, 'HOST_CR3'], [0x6c04, 'HOST_CR4'], [0x6c06, 'HOST_FS_BASE'], [0x6c08, 'HOST_GS_BASE'],
      [0x6c0a, 'HOST_TR_BASE'], [0x6c0c, 'HOST_GDTR_BASE'], [0x6c0e, 'HOST_IDTR_BASE'], [0x6c10, 'HOST_IA32_SYSENTER_ESP'],
      [0x6c12, 'HOST_IA32_SYSENTER_EIP'], [0x6c14, 'HOST_RSP'], [0x6c16, 'HOST_RIP'],
    ],
  },
];

/** Every field HyperStep knows, as listed in Appendix B order (width, then type). */
export const VMCS_FIELDS: readonly VmcsFieldInfo[] = groups.flatMap((group) =>
  group.rows.map(([encoding, name]) => ({ encoding, name, width: group.width, type: group.type })),
);

/** The group each row was listed in, for the consistency test (width/type must match the encoding bits). */
export const VMCS_FIELD_GROUPS = groups;

const byEncoding = new Map<number, VmcsFieldInfo>(VMCS_FIELDS.map((field) => [field.encoding, field]));
const byName = new Map<string, VmcsFieldInfo>(VMCS_FIELDS.map((field) => [field.name, field]));

/** The field for an encoding; the high-access form (bit 0 set) of a 64-bit field resolves to its full field. */
export function vmcsField(encoding: number): VmcsFieldInfo | undefined {
  const direct = byEncoding.get(encoding);
  if (direct !== undefined) return direct;
  const parts = decodeVmcsEncoding(encoding);
  if (parts?.highAccess && parts.width === '64') return byEncoding.get(encoding & ~1);
  return undefined;
}

export function vmcsFieldByName(name: string): VmcsFieldInfo | undefined {
  return byName.get(name);
}

/** Interruption-information layout (VM_EXIT_INTR_INFO, IDT_VECTORING_INFO, VM_ENTRY_INTR_INFO; SDM Vol. 3C "Information for VM Exits Due to Vectored Events"). */
export const InterruptionType = {
  ExternalInterrupt: 0,
  Nmi: 2,
  HardwareException: 3,
  SoftwareInterrupt: 4,
  PrivilegedSoftwareException: 5,
  SoftwareException: 6,
} as const;

export interface InterruptionInfo {
  readonly vector: number;
  readonly type: number;
  readonly errorCodeValid: boolean;
  readonly nmiUnblockingByIret: boolean;
  readonly valid: boolean;
}

export function decodeInterruptionInfo(value: number): InterruptionInfo {
  return {
    vector: value & 0xff,
    type: (value >>> 8) & 7,
    errorCodeValid: (value & 0x800) !== 0,
    nmiUnblockingByIret: (value & 0x1000) !== 0,
    valid: (value & 0x80000000) !== 0,
  };
}

export function encodeInterruptionInfo(info: InterruptionInfo): number {
  return (
    ((info.vector & 0xff) |
      ((info.type & 7) << 8) |
      (info.errorCodeValid ? 0x800 : 0) |
      (info.nmiUnblockingByIret ? 0x1000 : 0) |
      (info.valid ? 0x80000000 : 0)) >>>
    0
  );
}
