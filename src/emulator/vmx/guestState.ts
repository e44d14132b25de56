// Moving processor state between the CPU and the current VMCS: saving guest state on VM exit (SDM Vol. 3C
// 27.3), loading guest state on VM entry (26.3.2) and loading host state on VM exit (27.5). Segment
// registers travel as selector / base / byte-granular limit / access rights (AR bytes, SDM 25.4.1 Table
// 25-2: descriptor type, S, DPL, P, AVL, L, D/B, G, and bit 16 "unusable").

import type { Cpu } from '../cpu/cpu';
import { readEflags, writeEflags } from '../cpu/lazyFlags';
import { loadCodeSegment, loadNullSegment, loadSegmentCache } from '../cpu/segments';
import {
  CPL, CR, CpuMode, DR, EIP, GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, LDTR_ACCESS, LDTR_BASE, LDTR_LIMIT, LDTR_SELECTOR,
  MODE, MSR, SEG_ACCESS, SEG_BASE, SEG_LIMIT, SEG_RIGHTS, SEG_SELECTOR, Seg, SegmentRight, TR_ACCESS, TR_BASE, TR_LIMIT, TR_SELECTOR,
} from '../cpu/stateLayout';
import { F } from './controls';
import type { Vmcs } from './vmcs';

/** AR bit 16: the segment is unusable (null selector loaded). */
export const AR_UNUSABLE = 1 << 16;

/** MSR slots of IA32_SYSENTER_CS/ESP/EIP (stateLayout MSR_SLOTS 2..4). */
const SYSENTER_CS = MSR + 4;
const SYSENTER_ESP = MSR + 6;
const SYSENTER_EIP = MSR + 8;

/** A descriptor (low, high dwords) equivalent to base / byte limit / AR, for the CPU's segment loaders. */
function descriptorFor(base: number, limit: number, ar: number): [number, number] {
  const granular = (ar & 0x8000) !== 0;
  const raw = granular ? limit >>> 12 : limit & 0xfffff;
  const low = ((base & 0xffff) << 16) | (raw & 0xffff);
  const high = (base & 0xff000000) | (raw & 0xf0000) | ((ar & 0xf0ff) << 8) | ((base >>> 16) & 0xff);
  return [low | 0, high | 0];
}

/** Guest state → VMCS (SDM 27.3.1-27.3.4). */
export function saveGuestState(cpu: Cpu, vmcs: Vmcs): void {
  const s = cpu.s;
  vmcs.write(F.GUEST_CR0, s[CR]!);
  vmcs.write(F.GUEST_CR3, s[CR + 3]!);
  vmcs.write(F.GUEST_CR4, s[CR + 4]!);
  vmcs.write(F.GUEST_DR7, s[DR + 7]!);
  vmcs.write(F.GUEST_RSP, s[4]!);
  vmcs.write(F.GUEST_RIP, s[EIP]!);
  vmcs.write(F.GUEST_RFLAGS, readEflags(s));
  for (let seg = 0; seg < 6; seg++) {
    const usable = (s[SEG_RIGHTS + seg]! & SegmentRight.Usable) !== 0;
    vmcs.write(F.GUEST_ES_SELECTOR + 2 * seg, s[SEG_SELECTOR + seg]!);
    vmcs.write(F.GUEST_ES_BASE + 2 * seg, s[SEG_BASE + seg]!);
    vmcs.write(F.GUEST_ES_LIMIT + 2 * seg, s[SEG_LIMIT + seg]!);
    // A loaded segment's descriptor is marked accessed (SDM Vol. 3A 3.4.5.1); the cache may predate that write.
    vmcs.write(F.GUEST_ES_AR + 2 * seg, usable || seg === Seg.CS ? (s[SEG_ACCESS + seg]! & 0xf0ff) | 1 : AR_UNUSABLE);
  }
  vmcs.write(F.GUEST_LDTR_SELECTOR, s[LDTR_SELECTOR]!);
  vmcs.write(F.GUEST_LDTR_BASE, s[LDTR_BASE]!);
  vmcs.write(F.GUEST_LDTR_LIMIT, s[LDTR_LIMIT]!);
  vmcs.write(F.GUEST_LDTR_AR, (s[LDTR_SELECTOR]! & 0xfffc) === 0 ? AR_UNUSABLE : s[LDTR_ACCESS]! & 0xf0ff);
  vmcs.write(F.GUEST_TR_SELECTOR, s[TR_SELECTOR]!);
  vmcs.write(F.GUEST_TR_BASE, s[TR_BASE]!);
  vmcs.write(F.GUEST_TR_LIMIT, s[TR_LIMIT]!);
  vmcs.write(F.GUEST_TR_AR, s[TR_ACCESS]! & 0xf0ff);
  vmcs.write(F.GUEST_GDTR_BASE, s[GDTR_BASE]!);
  vmcs.write(F.GUEST_GDTR_LIMIT, s[GDTR_LIMIT]!);
  vmcs.write(F.GUEST_IDTR_BASE, s[IDTR_BASE]!);
  vmcs.write(F.GUEST_IDTR_LIMIT, s[IDTR_LIMIT]!);
  vmcs.write(F.GUEST_SYSENTER_CS, s[SYSENTER_CS]!);
  vmcs.write(F.GUEST_SYSENTER_ESP, s[SYSENTER_ESP]!);
  vmcs.write(F.GUEST_SYSENTER_EIP, s[SYSENTER_EIP]!);
  // Activity state 1 = HLT; interruptibility bit 0 = blocking by STI (SDM 25.4.2 Tables 25-3/25-4).
  vmcs.write(F.GUEST_ACTIVITY, (s[MODE]! & CpuMode.Halted) !== 0 ? 1 : 0);
  vmcs.write(F.GUEST_INTERRUPTIBILITY, (s[MODE]! & CpuMode.InterruptShadow) !== 0 ? 1 : 0);
}

/** VMCS guest-state area → CPU (SDM 26.3.2); the checks of 26.3.1 ran before. */
export function loadGuestState(cpu: Cpu, vmcs: Vmcs): void {
  const s = cpu.s;
  s[CR] = vmcs.read(F.GUEST_CR0);
  s[CR + 3] = vmcs.read(F.GUEST_CR3);
  s[CR + 4] = vmcs.read(F.GUEST_CR4);
  s[DR + 7] = vmcs.read(F.GUEST_DR7);
  s[4] = vmcs.read(F.GUEST_RSP);
  s[EIP] = vmcs.read(F.GUEST_RIP);
  writeEflags(s, vmcs.read(F.GUEST_RFLAGS));
  const ssAr = vmcs.read(F.GUEST_ES_AR + 2 * Seg.SS);
  const cpl = (ssAr >>> 5) & 3; // CPL is SS.DPL in VMX (SDM 26.3.2.2)
  for (let seg = 0; seg < 6; seg++) {
    const selector = vmcs.read(F.GUEST_ES_SELECTOR + 2 * seg);
    const ar = vmcs.read(F.GUEST_ES_AR + 2 * seg);
    const [low, high] = descriptorFor(vmcs.read(F.GUEST_ES_BASE + 2 * seg), vmcs.read(F.GUEST_ES_LIMIT + 2 * seg), ar);
    if (seg === Seg.CS) loadCodeSegment(cpu, selector, low, high, cpl);
    else if ((ar & AR_UNUSABLE) !== 0) loadNullSegment(cpu, seg, selector);
    else loadSegmentCache(cpu, seg, selector, low, high);
  }
  s[CPL] = cpl;
  s[LDTR_SELECTOR] = vmcs.read(F.GUEST_LDTR_SELECTOR);
  s[LDTR_BASE] = vmcs.read(F.GUEST_LDTR_BASE);
  s[LDTR_LIMIT] = vmcs.read(F.GUEST_LDTR_LIMIT);
  s[LDTR_ACCESS] = vmcs.read(F.GUEST_LDTR_AR) & 0xf0ff;
  s[TR_SELECTOR] = vmcs.read(F.GUEST_TR_SELECTOR);
  s[TR_BASE] = vmcs.read(F.GUEST_TR_BASE);
  s[TR_LIMIT] = vmcs.read(F.GUEST_TR_LIMIT);
  s[TR_ACCESS] = vmcs.read(F.GUEST_TR_AR) & 0xf0ff;
  s[GDTR_BASE] = vmcs.read(F.GUEST_GDTR_BASE);
  s[GDTR_LIMIT] = vmcs.read(F.GUEST_GDTR_LIMIT);
  s[IDTR_BASE] = vmcs.read(F.GUEST_IDTR_BASE);
  s[IDTR_LIMIT] = vmcs.read(F.GUEST_IDTR_LIMIT);
  s[SYSENTER_CS] = vmcs.read(F.GUEST_SYSENTER_CS);
  s[SYSENTER_ESP] = vmcs.read(F.GUEST_SYSENTER_ESP);
  s[SYSENTER_EIP] = vmcs.read(F.GUEST_SYSENTER_EIP);
  let mode = s[MODE]! & ~(CpuMode.Halted | CpuMode.InterruptShadow);
  if (vmcs.read(F.GUEST_ACTIVITY) === 1) mode |= CpuMode.Halted;
  if ((vmcs.read(F.GUEST_INTERRUPTIBILITY) & 3) !== 0) mode |= CpuMode.InterruptShadow;
  s[MODE] = mode;
}

/** Host-state area → CPU on VM exit (SDM 27.5.1-27.5.3, processor without IA-32e mode). */
export function loadHostState(cpu: Cpu, vmcs: Vmcs): void {
  const s = cpu.s;
  s[CR] = vmcs.read(F.HOST_CR0);
  s[CR + 3] = vmcs.read(F.HOST_CR3);
  s[CR + 4] = vmcs.read(F.HOST_CR4);
  s[DR + 7] = 0x400;
  s[SYSENTER_CS] = vmcs.read(F.HOST_SYSENTER_CS);
  s[SYSENTER_ESP] = vmcs.read(F.HOST_SYSENTER_ESP);
  s[SYSENTER_EIP] = vmcs.read(F.HOST_SYSENTER_EIP);
  // Flat 4-GiB segments: CS type 11, data type 3, DPL 0, P, D/B, G (27.5.2).
  for (let seg = 0; seg < 6; seg++) {
    const selector = vmcs.read(F.HOST_ES_SELECTOR + 2 * seg);
    const base = seg === Seg.FS ? vmcs.read(F.HOST_FS_BASE) : seg === Seg.GS ? vmcs.read(F.HOST_GS_BASE) : 0;
    if (seg === Seg.CS) {
      const [low, high] = descriptorFor(0, 0xffffffff, 0xc09b);
      loadCodeSegment(cpu, selector, low, high, 0);
    } else if ((selector & 0xfffc) === 0) {
      loadNullSegment(cpu, seg, selector);
    } else {
      const [low, high] = descriptorFor(base, 0xffffffff, 0xc093);
      loadSegmentCache(cpu, seg, selector, low, high);
    }
  }
  s[CPL] = 0;
  s[TR_SELECTOR] = vmcs.read(F.HOST_TR_SELECTOR);
  s[TR_BASE] = vmcs.read(F.HOST_TR_BASE);
  s[TR_LIMIT] = 0x67;
  s[TR_ACCESS] = 0x8b;
  s[LDTR_SELECTOR] = 0;
  s[LDTR_BASE] = 0;
  s[LDTR_LIMIT] = 0;
  s[LDTR_ACCESS] = 0;
  s[GDTR_BASE] = vmcs.read(F.HOST_GDTR_BASE);
  s[GDTR_LIMIT] = 0xffff;
  s[IDTR_BASE] = vmcs.read(F.HOST_IDTR_BASE);
  s[IDTR_LIMIT] = 0xffff;
  s[4] = vmcs.read(F.HOST_RSP);
  s[EIP] = vmcs.read(F.HOST_RIP);
  writeEflags(s, 0x2);
  s[MODE] = s[MODE]! & ~(CpuMode.Halted | CpuMode.InterruptShadow);
}
