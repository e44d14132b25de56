// The VMCS as the debugger's VMCS view shows it (inspection.ts VmcsInfo): fields grouped as SDM Vol. 3C
// 25.4-25.9 groups them (guest-state area, host-state area, VM-execution, VM-exit and VM-entry control fields,
// VM-exit information fields), each with its Appendix B name, raw value, and a decoding where the SDM gives
// one: control bits by name (25.6-25.8), exception bitmap vectors, EPTP (25.6.11), exit reason (Appendix C),
// exit qualification (28.2.1), interruption information (25.8.3, 25.9.2), guest activity state (25.4.2).

import { decodeCrAccess, decodeEptViolation, decodeIo, describeCrAccess, describeEptViolation, describeIo, decodeApicAccess, describeApicAccess } from '../exitQualification';
import { exitReasonName } from '../exitReasons';
import type { VmcsFieldValue, VmcsGroup, VmcsInfo } from '../inspection';
import { vmcsField } from '../vmcsFields';
import { F } from '../../vmx/controls';
import type { Vmcs } from '../../vmx/vmcs';

const GROUPS = [
  'Guest-state area', 'Host-state area', 'VM-execution control fields', 'VM-exit control fields', 'VM-entry control fields',
  'VM-exit information fields',
] as const;

/** Control fields of 25.7 (exit) and 25.8 (entry); every other control field is a VM-execution control (25.6). */
const EXIT_CONTROL_FIELDS = new Set([0x400c, 0x400e, 0x4010, 0x2006, 0x2008]);
const ENTRY_CONTROL_FIELDS = new Set([0x4012, 0x4014, 0x4016, 0x4018, 0x401a, 0x200a]);

const PIN_BITS: Record<number, string> = { 0: 'external-interrupt exiting', 3: 'NMI exiting', 5: 'virtual NMIs', 6: 'preemption timer', 7: 'posted interrupts' };
const PRIMARY_BITS: Record<number, string> = {
  2: 'interrupt-window exiting', 3: 'TSC offsetting', 7: 'HLT exiting', 9: 'INVLPG exiting', 10: 'MWAIT exiting', 11: 'RDPMC exiting',
  12: 'RDTSC exiting', 15: 'CR3-load exiting', 16: 'CR3-store exiting', 19: 'CR8-load exiting', 20: 'CR8-store exiting',
  21: 'TPR shadow', 22: 'NMI-window exiting', 23: 'MOV-DR exiting', 24: 'unconditional I/O exiting', 25: 'I/O bitmaps',
  27: 'monitor trap flag', 28: 'MSR bitmaps', 29: 'MONITOR exiting', 30: 'PAUSE exiting', 31: 'secondary controls',
};
const SECONDARY_BITS: Record<number, string> = {
  0: 'virtualize APIC accesses', 1: 'enable EPT', 2: 'descriptor-table exiting', 3: 'RDTSCP', 4: 'virtualize x2APIC', 5: 'VPID',
  6: 'WBINVD exiting', 7: 'unrestricted guest',
};
const EXIT_BITS: Record<number, string> = { 2: 'save debug controls', 9: 'host address-space size', 12: 'load IA32_PERF_GLOBAL_CTRL', 15: 'acknowledge interrupt on exit' };
const ENTRY_BITS: Record<number, string> = { 2: 'load debug controls', 9: 'IA-32e mode guest', 10: 'entry to SMM' };
const EVENT_TYPES = ['external interrupt', 'reserved', 'NMI', 'hardware exception', 'software interrupt', 'privileged software exception', 'software exception', 'other event'];

function hex(value: number, digits = 8): string {
  return `0x${(value >>> 0).toString(16).padStart(digits, '0')}`;
}

/** Names of the set bits of a control (bits the SDM reserves as default-1 are listed as "bit n"). */
function bitNames(value: number, names: Record<number, string>): string {
  const set: string[] = [];
  for (let bit = 0; bit < 32; bit++) if ((value >>> bit) & 1) set.push(names[bit] ?? `bit ${bit}`);
  return set.length === 0 ? 'none' : set.join(', ');
}

export function describeInterruptionInfo(value: number): string {
  if ((value & 0x80000000) === 0) return 'not valid';
  return `vector ${value & 0xff}, ${EVENT_TYPES[(value >>> 8) & 7]}${(value & 0x800) !== 0 ? ', error code' : ''}`;
}

function describeQualification(vmcs: Vmcs, value: number): string | undefined {
  const reason = vmcs.read(F.EXIT_REASON) & 0xffff;
  if (reason === 28) return describeCrAccess(decodeCrAccess(value));
  if (reason === 30) {
    const io = decodeIo(value);
    return io === undefined ? undefined : describeIo(io);
  }
  if (reason === 48) return describeEptViolation(decodeEptViolation(value));
  if (reason === 44) return describeApicAccess(decodeApicAccess(value));
  if (reason === 0 && (vmcs.read(F.EXIT_INTR_INFO) & 0xff) === 14) return `page-fault linear address ${hex(value)}`;
  return undefined;
}

function decode(vmcs: Vmcs, encoding: number, value: number): string | undefined {
  switch (encoding) {
    case F.PIN_CONTROLS: return bitNames(value, PIN_BITS);
    case F.PROC_CONTROLS: return bitNames(value, PRIMARY_BITS);
    case F.PROC2_CONTROLS: return bitNames(value, SECONDARY_BITS);
    case F.EXIT_CONTROLS: return bitNames(value, EXIT_BITS);
    case F.ENTRY_CONTROLS: return bitNames(value, ENTRY_BITS);
    case F.EXCEPTION_BITMAP: {
      const vectors: number[] = [];
      for (let v = 0; v < 32; v++) if ((value >>> v) & 1) vectors.push(v);
      return vectors.length === 0 ? 'no exception exits' : `vectors ${vectors.join(', ')} exit`;
    }
    case F.EPT_POINTER: {
      const type = value & 7;
      return `PML4 table at ${hex(value & ~0xfff)}, memory type ${type === 6 ? 'WB' : type === 0 ? 'UC' : type}, ${((value >>> 3) & 7) + 1}-level walk`;
    }
    case F.EXIT_REASON: return `${value & 0xffff} ${exitReasonName(value & 0xffff)}${(value & 0x80000000) !== 0 ? ' (VM-entry failure)' : ''}`;
    case F.EXIT_QUALIFICATION: return describeQualification(vmcs, value);
    case F.EXIT_INTR_INFO: case F.IDT_VECTORING_INFO: case F.ENTRY_INTR_INFO: return describeInterruptionInfo(value);
    case F.GUEST_ACTIVITY: return ['active', 'HLT', 'shutdown', 'wait-for-SIPI'][value] ?? 'reserved';
    case F.CR0_MASK: case F.CR4_MASK: return value === 0 ? 'the guest owns every bit' : `host-owned bits ${hex(value)}`;
    default: return undefined;
  }
}

function groupOf(encoding: number): (typeof GROUPS)[number] | undefined {
  const field = vmcsField(encoding);
  if (field === undefined) return undefined;
  switch (field.type) {
    case 'guest-state': return 'Guest-state area';
    case 'host-state': return 'Host-state area';
    case 'exit-information': return 'VM-exit information fields';
    default:
      if (EXIT_CONTROL_FIELDS.has(encoding)) return 'VM-exit control fields';
      if (ENTRY_CONTROL_FIELDS.has(encoding)) return 'VM-entry control fields';
      return 'VM-execution control fields';
  }
}

/** Every written field, grouped; 64-bit fields show full and high halves as one 16-digit value. */
export function describeVmcs(vmcs: Vmcs): VmcsInfo {
  const byGroup = new Map<string, VmcsFieldValue[]>(GROUPS.map((name) => [name, []]));
  const encodings = new Set(vmcs.writtenEncodings().map((encoding) => {
    const field = vmcsField(encoding);
    return field === undefined ? encoding : field.encoding;
  }));
  for (const encoding of [...encodings].sort((a, b) => a - b)) {
    const field = vmcsField(encoding);
    const group = groupOf(encoding);
    if (field === undefined || group === undefined) continue;
    const value = vmcs.read(encoding);
    const text = field.width === '64' ? `0x${vmcs.read(encoding + 1).toString(16).padStart(8, '0')}${value.toString(16).padStart(8, '0')}` : hex(value, field.width === '16' ? 4 : 8);
    const decoded = decode(vmcs, encoding, value);
    byGroup.get(group)!.push(decoded === undefined ? { encoding, name: field.name, value: text } : { encoding, name: field.name, value: text, decoded });
  }
  const groups: VmcsGroup[] = GROUPS.map((name) => ({ name, fields: byGroup.get(name)! }));
  return { pointer: vmcs.address, launchState: vmcs.launchState, groups };
}
