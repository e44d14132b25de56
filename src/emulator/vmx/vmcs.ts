// One VMCS as the CPU's VMX implementation keeps it (SDM Vol. 3C 25.1-25.2, 25.11): the launch state and
// the field values keyed by their SDM encodings. The in-memory format of a VMCS region is
// implementation-specific (SDM 25.2: software must use VMREAD/VMWRITE), so HyperStep keeps the fields in
// this object, keyed by the region's physical address; only the revision identifier in the region's
// first dword is read from guest memory (VMPTRLD checks it, SDM 30.3). Values are 32-bit: on IA-32 a
// 64-bit field is accessed as its "full" (low) and "high" halves (SDM 25.11.2).

import { decodeVmcsEncoding, vmcsField } from '../vmm/vmcsFields';

export type LaunchState = 'clear' | 'launched';

/** How an encoding may be accessed: 'unsupported', 'read-only' (VM-exit information) or 'read-write'. */
export type FieldAccess = 'unsupported' | 'read-only' | 'read-write';

/** Access class of an encoding (SDM 25.11.2; exit-information fields are read-only unless IA32_VMX_MISC[29]). */
export function fieldAccess(encoding: number): FieldAccess {
  const parts = decodeVmcsEncoding(encoding);
  if (parts === undefined) return 'unsupported';
  if (parts.highAccess && parts.width !== '64') return 'unsupported';
  if (vmcsField(encoding & ~1) === undefined) return 'unsupported';
  return parts.type === 'exit-information' ? 'read-only' : 'read-write';
}

/** Width mask applied on VMWRITE (16-bit fields keep 16 bits; SDM 25.11.2). */
function widthMask(encoding: number): number {
  return ((encoding >>> 13) & 3) === 0 ? 0xffff : 0xffffffff;
}

export class Vmcs {
  launchState: LaunchState = 'clear';
  private readonly fields = new Map<number, number>();

  constructor(readonly address: number) {}

  /** Field value (unsigned 32-bit); 0 if never written. */
  read(encoding: number): number {
    return this.fields.get(encoding) ?? 0;
  }

  /** Stores a field (the caller checked access); used by VMWRITE and by the processor on VM exits. */
  write(encoding: number, value: number): void {
    this.fields.set(encoding, (value & widthMask(encoding)) >>> 0);
  }

  /** Encodings written so far (by VMWRITE or the processor), ascending. */
  writtenEncodings(): number[] {
    return [...this.fields.keys()].sort((x, y) => x - y);
  }

  /** Plain-data copy for snapshots. */
  toJSON(): { address: number; launchState: LaunchState; fields: [number, number][] } {
    return { address: this.address, launchState: this.launchState, fields: [...this.fields.entries()] };
  }

  /** Replaces launch state and fields with a snapshot's (in place, so holders of this object stay valid). */
  assign(data: { launchState: LaunchState; fields: [number, number][] }): void {
    this.launchState = data.launchState;
    this.fields.clear();
    for (const [encoding, value] of data.fields) this.fields.set(encoding, value);
  }

  static fromJSON(data: { address: number; launchState: LaunchState; fields: [number, number][] }): Vmcs {
    const vmcs = new Vmcs(data.address);
    vmcs.launchState = data.launchState;
    for (const [encoding, value] of data.fields) vmcs.fields.set(encoding, value);
    return vmcs;
  }
}
