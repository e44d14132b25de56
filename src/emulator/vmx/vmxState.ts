// The VMX unit's state as plain data for CPU snapshots (save/restore and reverse debugging): VMX operation,
// the VMXON pointer, the current-VMCS pointer, every VMCS region with its launch state and fields, the
// non-root flag, whether EPT is in force (and the EPTP), and the counters. Loading restores VMCS objects in
// place, so a software host that holds a VMCS (the built-in hardware-assisted VMM) keeps a valid reference.

import type { EptCounters } from '../cpu/ept';
import type { ApicVirtualizationCounters } from './apicVirtualization';
import type { LaunchState } from './vmcs';
import type { VmExitRecord, VmxUnit } from './vmxUnit';

export interface VmxSnapshot {
  readonly inVmxOperation: boolean;
  readonly nonRoot: boolean;
  readonly vmxonPointer: number;
  /** Address of the current VMCS, -1 when there is none. */
  readonly current: number;
  readonly regions: readonly { address: number; launchState: LaunchState; fields: [number, number][] }[];
  readonly softwareHost: boolean;
  readonly entries: number;
  readonly lastEntryFailure: string;
  readonly lastExit: VmExitRecord | null;
  readonly exitCounts: readonly [number, number][];
  readonly ept: { readonly active: boolean; readonly eptp: number; readonly counters: EptCounters };
  readonly invept: { readonly singleContext: number; readonly allContext: number };
  /** TPR accesses virtualized (absent in older snapshots). */
  readonly apic?: ApicVirtualizationCounters;
}

export function saveVmxState(unit: VmxUnit): VmxSnapshot {
  return {
    inVmxOperation: unit.inVmxOperation, nonRoot: unit.nonRoot, vmxonPointer: unit.vmxonPointer,
    current: unit.current === null ? -1 : unit.current.address,
    regions: [...unit.regions.values()].map((vmcs) => vmcs.toJSON()),
    softwareHost: unit.softwareHost, entries: unit.entries, lastEntryFailure: unit.lastEntryFailure,
    lastExit: unit.lastExit, exitCounts: [...unit.exitCounts.entries()],
    ept: { active: unit.cpu.mmu.ept !== null, eptp: unit.ept.eptp, counters: { ...unit.ept.counters } },
    invept: { ...unit.inveptCounts },
    apic: { ...unit.apic.counters },
  };
}

/** Restores a snapshot; `undefined` (a snapshot taken before VMX state was saved) leaves the unit unchanged. */
export function loadVmxState(unit: VmxUnit, snapshot: VmxSnapshot | undefined): void {
  if (snapshot === undefined) return;
  unit.inVmxOperation = snapshot.inVmxOperation;
  unit.nonRoot = snapshot.nonRoot;
  unit.vmxonPointer = snapshot.vmxonPointer;
  const present = new Set(snapshot.regions.map((region) => region.address));
  for (const address of [...unit.regions.keys()]) if (!present.has(address)) unit.regions.delete(address);
  for (const region of snapshot.regions) unit.regionAt(region.address).assign(region);
  unit.current = snapshot.current < 0 ? null : unit.regionAt(snapshot.current);
  unit.softwareHost = snapshot.softwareHost;
  unit.entries = snapshot.entries;
  unit.lastEntryFailure = snapshot.lastEntryFailure;
  unit.lastExit = snapshot.lastExit;
  unit.exitCounts.clear();
  for (const [reason, count] of snapshot.exitCounts) unit.exitCounts.set(reason, count);
  Object.assign(unit.ept.counters, snapshot.ept.counters);
  Object.assign(unit.inveptCounts, snapshot.invept);
  unit.ept.setPointer(snapshot.ept.eptp);
  unit.cpu.mmu.setEpt(snapshot.ept.active ? unit.ept : null);
  // The APIC-access page is armed exactly while a guest runs under the current VMCS's controls.
  if (unit.nonRoot && unit.current !== null) unit.apic.arm(unit.current);
  else unit.apic.disarm();
  if (snapshot.apic !== undefined) Object.assign(unit.apic.counters, snapshot.apic);
}
