// The CPU model HyperStep reports: CPUID leaves and model-specific registers (SDM Vol. 2 CPUID; Vol. 4
// MSR tables). Vendor "GenuineIntel", family 6 model 15 stepping 11 (a Core 2 class part: the first
// generation with VT-x, which is what the VMX lessons describe). Feature bits match what this CPU really
// implements: no x87 FPU (FPU = 0), PSE, TSC, MSR, CX8 = 0, SEP, PGE, CMOV; VMX (CPUID.1:ECX bit 5) only
// when the machine is configured with hardware assist. The TSC is the retired-instruction count plus the
// offset written through IA32_TIME_STAMP_COUNTER (or the machine's virtual clock when one is given), so
// time is deterministic.

import type { Cpu } from './cpu';
import { Vector } from './faults';
import { COUNTER_RETIRED, MSR, MSR_SLOTS } from './stateLayout';

const VENDOR = 'GenuineIntel';

function vendorWord(offset: number): number {
  let value = 0;
  for (let i = 0; i < 4; i++) value |= VENDOR.charCodeAt(offset + i) << (8 * i);
  return value;
}

/** CPUID.1:EDX feature bits (SDM Vol. 2 Table 3-11). */
const FEATURES_EDX = (1 << 3) /* PSE */ | (1 << 4) /* TSC */ | (1 << 5) /* MSR */ | (1 << 11) /* SEP */ |
  (1 << 13) /* PGE */ | (1 << 15) /* CMOV */;
/** CPUID.1:EDX.APIC[bit 9]: an on-chip local APIC (reported when the machine has one). */
const FEATURE_APIC = 1 << 9;
/** IA32_APIC_BASE (SDM Vol. 4 Table 2-2). */
const IA32_APIC_BASE = 0x1b;
const FAMILY_MODEL_STEPPING = (6 << 8) | (15 << 4) | 11;

/** Execute CPUID for leaf EAX (subleaf ECX ignored): results into EAX EBX ECX EDX. */
export function cpuid(cpu: Cpu): void {
  const s = cpu.s;
  const leaf = s[0]! >>> 0;
  let a = 0, b = 0, c = 0, d = 0;
  if (leaf === 0) {
    a = 1; b = vendorWord(0); d = vendorWord(4); c = vendorWord(8);
  } else if (leaf === 1 || (leaf > 1 && leaf < 0x80000000)) {
    // Leaves above the maximum return the highest basic leaf's data (SDM Vol. 2 CPUID, Intel behaviour).
    a = FAMILY_MODEL_STEPPING;
    // Brand index 0, CLFLUSH size 0, one logical processor per package; the initial APIC ID in bits 31:24.
    b = cpu.localApic !== null ? cpu.localApic.initialId << 24 : 0;
    c = cpu.features.vmx ? 1 << 5 : 0;
    d = cpu.localApic !== null ? FEATURES_EDX | FEATURE_APIC : FEATURES_EDX;
  } else if (leaf === 0x80000000) {
    a = 0x80000000; // no extended leaves
  }
  s[0] = a; s[3] = b; s[1] = c; s[2] = d;
}

/** Default values of the VMX capability MSRs (refined by the VMX issue; SDM Vol. 3D Appendix A). */
const VMX_DEFAULTS: readonly (readonly [number, number, number])[] = [
  // [msr, low, high]
  [0x480, 1, 0x00001000 | (6 << 18) | (1 << 22) | (1 << 23)], // revision 1, 4 KiB VMCS, write-back, INS/OUTS info, TRUE controls
  [0x481, 0x00000016, 0x0000003f], // pin-based: allowed-0 / allowed-1
  [0x482, 0x0401e172, 0xfff9fffe], // primary processor-based
  [0x483, 0x00036dff, 0x0003efff], // VM-exit
  [0x484, 0x000011ff, 0x0000f3ff], // VM-entry
  [0x485, 0x00000000, 0x00000000], // misc
  [0x486, 0x80000021, 0], // CR0 fixed 0: PE NE PG
  [0x487, -1, 0], // CR0 fixed 1
  [0x488, 0x00002000, 0], // CR4 fixed 0: VMXE
  [0x489, 0x000027ff, 0], // CR4 fixed 1
  [0x48b, 0, 0x000000c7], // secondary controls allowed-1: virtualize APIC accesses, EPT, descriptor-table exiting, WBINVD exiting, unrestricted guest
];

/**
 * IA32_VMX_TRUE_PROCBASED_CTLS (0x48E, SDM Vol. 3D A.3.2), present because IA32_VMX_BASIC[55] = 1: as
 * IA32_VMX_PROCBASED_CTLS, but CR3-load and CR3-store exiting (default1 bits 15, 16) may be 0, as VMMs
 * using EPT need. VM entry checks the primary controls against it. Read-only, computed (no MSR slot);
 * the TRUE pin-based, exit and entry MSRs (0x48D, 0x48F, 0x490) equal their non-TRUE counterparts here.
 */
export const TRUE_PROCBASED_ALLOWED0 = 0x0401e172 & ~((1 << 15) | (1 << 16));

/** Reset values of the MSR slots. */
export function resetMsrs(cpu: Cpu): void {
  const s = cpu.s;
  for (let i = 0; i < 32; i++) s[MSR + i] = 0;
  for (const [msr, low, high] of VMX_DEFAULTS) {
    const slot = MSR_SLOTS.get(msr)!;
    s[MSR + 2 * slot] = low;
    s[MSR + 2 * slot + 1] = high;
  }
}

const TWO_64 = 1n << 64n;

/** Cycles from the machine's virtual clock, or retired instructions when the CPU runs without one. */
function timeBase(cpu: Cpu): number {
  return cpu.clock !== null ? Math.floor(cpu.clock.now()) : cpu.counters[COUNTER_RETIRED]!;
}

/** TSC = virtual time (see timeBase) + the offset in the IA32_TIME_STAMP_COUNTER slot, modulo 2^64. */
function timeStampCounter(cpu: Cpu): bigint {
  const s = cpu.s;
  const offset = (BigInt(s[MSR + 1]! >>> 0) << 32n) | BigInt(s[MSR]! >>> 0);
  return (BigInt(timeBase(cpu)) + offset) % TWO_64;
}

/** RDTSC / RDMSR(0x10) into EDX:EAX. */
export function readTimeStampCounter(cpu: Cpu): void {
  const tsc = timeStampCounter(cpu);
  cpu.s[0] = Number(BigInt.asIntN(32, tsc));
  cpu.s[2] = Number(BigInt.asIntN(32, tsc >> 32n));
}

/** RDMSR ECX → EDX:EAX; #GP(0) for MSRs this CPU does not have (SDM Vol. 2 RDMSR). */
export function readMsr(cpu: Cpu): void {
  const s = cpu.s;
  const msr = s[1]! >>> 0;
  if (msr === 0x10) { readTimeStampCounter(cpu); return; }
  if (msr === IA32_APIC_BASE && cpu.localApic !== null) { s[0] = cpu.localApic.baseMsr; s[2] = 0; return; }
  if (msr === 0x48a) { s[0] = 0x2e; s[2] = 0; return; } // IA32_VMX_VMCS_ENUM: highest index 0x17
  if (msr >= 0x48d && msr <= 0x490 && cpu.features.vmx) {
    const twin = MSR_SLOTS.get(msr === 0x48d ? 0x481 : msr === 0x48e ? 0x482 : msr === 0x48f ? 0x483 : 0x484)!;
    s[0] = msr === 0x48e ? TRUE_PROCBASED_ALLOWED0 : s[MSR + 2 * twin]!;
    s[2] = s[MSR + 2 * twin + 1]!;
    return;
  }
  const slot = MSR_SLOTS.get(msr);
  const vmxCapability = msr >= 0x480 && msr <= 0x48b;
  if (slot === undefined || (vmxCapability && !cpu.features.vmx)) cpu.raise(Vector.GP, 0, `MSR 0x${msr.toString(16)} does not exist`);
  s[0] = s[MSR + 2 * slot]!;
  s[2] = s[MSR + 2 * slot + 1]!;
}

/** WRMSR EDX:EAX → ECX; read-only and unknown MSRs #GP(0). */
export function writeMsr(cpu: Cpu): void {
  const s = cpu.s;
  const msr = s[1]! >>> 0;
  if (msr === IA32_APIC_BASE && cpu.localApic !== null) {
    // Reserved bits (above the 32-bit physical address width, and 0-7, 9-10) must be zero (SDM Vol. 3A §11.4.4).
    if (s[2] !== 0 || (s[0]! & 0x6ff) !== 0) cpu.raise(Vector.GP, 0, 'reserved bit set in IA32_APIC_BASE');
    cpu.localApic.writeBaseMsr(s[0]! >>> 0);
    return;
  }
  const slot = MSR_SLOTS.get(msr);
  if (slot === undefined || (msr >= 0x480 && msr <= 0x48b)) cpu.raise(Vector.GP, 0, `MSR 0x${msr.toString(16)} is not writable`);
  if (msr === 0x10) {
    // Writing the TSC sets the offset so that the counter reads the written value now.
    const wanted = (BigInt(s[2]! >>> 0) << 32n) | BigInt(s[0]! >>> 0);
    const offset = (((wanted - BigInt(timeBase(cpu))) % TWO_64) + TWO_64) % TWO_64;
    s[MSR] = Number(BigInt.asIntN(32, offset));
    s[MSR + 1] = Number(BigInt.asIntN(32, offset >> 32n));
    return;
  }
  if (msr === 0x3a && (s[MSR + 2 * slot]! & 1) !== 0) cpu.raise(Vector.GP, 0, 'IA32_FEATURE_CONTROL is locked');
  s[MSR + 2 * slot] = s[0]!;
  s[MSR + 2 * slot + 1] = s[2]!;
}
