// The two cost presets with a source for every value. Figures: /work/shared/reference/virtualization.md.
// "A&A" = Adams & Agesen, "A Comparison of Software and Hardware Techniques for x86 Virtualization", ASPLOS
// 2006, Fig. 4 (nanobenchmarks, 3.8 GHz Pentium 4 672), as quoted in virtualization.md §4/§8.
// "Sugerman" = Sugerman, Venkitachalam & Lim, "Virtualizing I/O Devices on VMware Workstation's Hosted Virtual
// Machine Monitor", USENIX ATC 2001 §3 (733 MHz Pentium III), virtualization.md §8/§9.
// Derived values show their arithmetic so a reader can redo it; see docs/vmm/cost-model.md.

import type { CostParameter, CostPreset, CostPresetId, CostValue } from './costModel';

const measured = (cycles: number, source: string): CostValue => ({ cycles, basis: 'measured', source });
const derived = (cycles: number, source: string): CostValue => ({ cycles, basis: 'derived', source });
const approximate = (cycles: number, source: string): CostValue => ({ cycles, basis: 'approximate', source });
const nominal = (cycles: number, source: string): CostValue => ({ cycles, basis: 'nominal', source });

const AGESEN_2012 =
  'Agesen, Mattson, Rugina & Sheldon, USENIX ATC 2012, Fig. 1 (VT-x round trip by CPU generation; marked unverified in virtualization.md §8)';

const p4: Readonly<Record<CostParameter, CostValue>> = {
  instruction: nominal(1, 'one cycle per directly executed instruction (A&A measure no CPI; their native call+ret pair is 11 cycles)'),
  exceptionDelivery: measured(889, 'A&A Fig. 4 native divzero: #DE delivery, handler, IRET round trip'),
  pageFaultDelivery: measured(1093, 'A&A Fig. 4 native pgfault'),
  vmmEntry: derived(
    800,
    'A&A: BT adds ~2,000 cycles per guest syscall; modelled as vmmEntry + vmmExit + btCallout (179) + 6 emulation steps (210) = 2,000, split evenly: (2,000 − 389) / 2 ≈ 800',
  ),
  vmmExit: derived(800, 'see vmmEntry (A&A syscall +~2,000 under BT)'),
  emulationStep: measured(35, 'A&A Fig. 4: BT %cr8 write = 35 cycles, one inline operation on the virtual CPU'),
  hypercall: derived(889, 'int 0x82 is an interrupt-gate trap and return: priced as A&A native divzero round trip (889)'),
  worldSwitch: derived(
    4465,
    'Sugerman §3: one VMNet transmit (VMM→host, VMApp write(), back) = 22.7 µs × 733 MHz = 16,639 cycles = 2 world switches + 3 host system calls (3 × 1,500) + 1 device access (3,209) → (16,639 − 4,500 − 3,209) / 2 = 4,465',
  ),
  hostSystemCall: nominal(1500, 'host system call or driver return of the P4/PIII era; no figure in the references'),
  ioHop: nominal(1000, 'event-channel notification + domain switch to the management OS; no P4-era figure in the references'),
  deviceAccess: measured(3209, 'A&A Fig. 4 native `in` from port 0x80: an off-chip access'),
  virtualDeviceAccess: nominal(100, 'software device-model register access; cf. Sugerman: a whole in-VMM IN/OUT to the virtual PIC took 0.78 µs (572 cycles at 733 MHz) including the trap'),
  interruptInjection: derived(105, '3 emulation steps (read virtual IDT gate, push the guest frame, load the handler) × 35'),
  vmExit: approximate(1200, `half of the ≈2,400-cycle P4-class exit+entry round trip, virtualization.md §8 default (${AGESEN_2012})`),
  vmEntry: approximate(1200, `half of the ≈2,400-cycle P4-class round trip (${AGESEN_2012})`),
  shadowPageFault: derived(2834, 'A&A Fig. 4: pgfault under the software VMM 3,927 − native 1,093'),
  shadowPteWrite: measured(391, 'A&A §3.2 / Fig. 4: ptemod with adaptive BT, 391 cycles (12,733 when every write traps under VT)'),
  btTranslate: nominal(300, 'per translated guest instruction; A&A give no figure'),
  btCallout: derived(179, 'A&A: BT `in` ≈ native 3,209 / 15 ≈ 214, minus one emulation step (35)'),
  btIndirectBranch: derived(40, 'A&A Fig. 4: call/ret 51 under BT − 11 native'),
  apicAccess: derived(
    140,
    'A&A Fig. 4 cr8wr: BT (35) is ≈ 4× faster than the native TPR write, so native ≈ 4 × 35 = 140 (virtualization.md §4 "derived"); priced for the IA-32 stand-in, a write of the xAPIC TPR at 0xFEE00080 (SDM Vol. 3A 11.8.3.1)',
  ),
  eptWalkReference: nominal(
    20,
    'no figure in the references: one paging-structure read served by the cache hierarchy; Bhargava et al., ASPLOS 2008, count the references of a 2-D walk (24 for 4-over-4), not their cycles (virtualization.md §7)',
  ),
};

const modern: Readonly<Record<CostParameter, CostValue>> = {
  instruction: nominal(1, 'one cycle per directly executed instruction'),
  exceptionDelivery: measured(610, 'blitz/kernel_entry_benchmark README (x86.lol 2019-07-04): user→kernel round trip through an interrupt gate, Intel under QEMU/KVM'),
  pageFaultDelivery: nominal(1000, 'no cited figure for a recent core'),
  vmmEntry: nominal(200, 'software save of guest state on a recent core; no cited figure'),
  vmmExit: nominal(200, 'software restore of guest state on a recent core; no cited figure'),
  emulationStep: nominal(15, 'one virtual-CPU operation on a recent core (A&A measured 35 on a P4)'),
  hypercall: derived(610, 'an interrupt-gate trap and return, priced as the blitz int-gate round trip (610)'),
  worldSwitch: approximate(1200, 'LKML 2020-12 (lkml.iu.edu 2012.2/00527): whole KVM_RUN ioctl ≈ 2,528–2,576 vs VMRUN→#VMEXIT ≈ 1,344–1,376, so a kernel↔user-space round trip ≈ 1,200'),
  hostSystemCall: measured(610, 'blitz int-gate round trip 610 (an upper bound: call gate 473, SYSCALL less)'),
  ioHop: approximate(1200, 'as worldSwitch: the extra cost of handing an exit to a device model outside the hypervisor (LKML 2020-12)'),
  deviceAccess: nominal(2000, 'a legacy port access still leaves the core; no cited figure'),
  virtualDeviceAccess: nominal(50, 'software device-model register access; no cited figure'),
  interruptInjection: derived(45, '3 emulation steps × 15'),
  vmExit: approximate(250, `half of the ≈500-cycle Sandy Bridge+ round trip, virtualization.md §8 default (${AGESEN_2012})`),
  vmEntry: approximate(250, `half of the ≈500-cycle round trip (${AGESEN_2012})`),
  shadowPageFault: nominal(1500, 'no cited figure for a recent core'),
  shadowPteWrite: nominal(200, 'no cited figure for a recent core'),
  btTranslate: nominal(150, 'no cited figure'),
  btCallout: nominal(80, 'no cited figure'),
  btIndirectBranch: nominal(20, 'no cited figure'),
  apicAccess: nominal(100, 'no cited figure for an xAPIC MMIO register access on a recent core (x2APIC MSR accesses are cheaper)'),
  eptWalkReference: nominal(5, 'no cited figure: a paging-structure read that hits a page-walk cache or L1/L2 on a recent core'),
};

export const costParameterPresets: Readonly<Record<CostPresetId, CostPreset>> = {
  'p4-2006': { id: 'p4-2006', title: 'Pentium 4 era (Adams & Agesen 2006; Sugerman et al. 2001)', values: p4 },
  modern: { id: 'modern', title: 'A recent Intel core (VM exit/entry round trip ≈ 500 cycles)', values: modern },
};
