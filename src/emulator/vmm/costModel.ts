// The cycle-cost model: one parameter per kind of event the machine accounts (guest instruction, exception
// delivery, VMM entry/exit, emulation step, hypercall, world switch, device access, interrupt injection, VM
// exit/entry, shadow-paging faults, binary-translation work), two cited presets, and validated overrides
// (the `costOverrides` launch option). Figures and sources: /work/shared/reference/virtualization.md §4, §8
// ("A&A" = Adams & Agesen, ASPLOS 2006, Fig. 4, Pentium 4 672; "Sugerman" = Sugerman, Venkitachalam & Lim,
// USENIX ATC 2001, 733 MHz Pentium III). Each value carries its basis: measured (a published figure), derived
// (arithmetic on published figures, shown), approximate (a published range, or one the reference marks
// unverified) or nominal (no published figure; a plausible value to tune with costOverrides).

import { costParameterPresets } from './costPresets';

export const COST_PARAMETERS = [
  'instruction',
  'exceptionDelivery',
  'pageFaultDelivery',
  'vmmEntry',
  'vmmExit',
  'emulationStep',
  'hypercall',
  'worldSwitch',
  'hostSystemCall',
  'ioHop',
  'deviceAccess',
  'virtualDeviceAccess',
  'interruptInjection',
  'vmExit',
  'vmEntry',
  'shadowPageFault',
  'shadowPteWrite',
  'btTranslate',
  'btCallout',
  'btIndirectBranch',
  'apicAccess',
  'eptWalkReference',
] as const;
export type CostParameter = (typeof COST_PARAMETERS)[number];

/** What each parameter charges, for the docs, the launch-configuration hover and error messages. */
export const COST_PARAMETER_DESCRIPTIONS: Readonly<Record<CostParameter, string>> = {
  instruction: 'one guest instruction executed directly on the CPU',
  exceptionDelivery: 'hardware delivery of an exception or software interrupt through the IDT plus the IRET back (round trip)',
  pageFaultDelivery: 'a native page fault round trip (delivery, minimal handler, IRET)',
  vmmEntry: 'software VMM entry: save the guest state and switch to the VMM context after a trap',
  vmmExit: 'software VMM exit: restore the guest state and return to it',
  emulationStep: 'one named handler step operating on the virtual CPU (decode, check, emulate, advance EIP, build a frame…)',
  hypercall: 'a paravirtual hypercall trap (int 0x82) into the VMM and the return, excluding the handler work',
  worldSwitch: 'one hosted-architecture world switch (VMM world ↔ host world), one direction',
  hostSystemCall: 'one host system call or driver return on the hosted path (ioctl return, write(), ioctl)',
  ioHop: 'one hop between the VMM and the management OS (event channel/ioreq notification and domain switch)',
  deviceAccess: 'one access to a physical device register by native code or a real driver (off-chip I/O)',
  virtualDeviceAccess: 'one access to a device model implemented in software (in the VMM, management OS or VM process)',
  interruptInjection: 'injecting a virtual interrupt or reflecting a fault: building the guest exception frame from the virtual IDT',
  vmExit: 'a VT-x VM exit (non-root → root), hardware part',
  vmEntry: 'a VT-x VM entry (VMRESUME/VMLAUNCH, root → non-root), hardware part',
  shadowPageFault: 'VMM work for a hidden page fault filled into the shadow page table (beyond the native fault)',
  shadowPteWrite: 'emulating one traced write to a guest page-table entry and resynchronising the shadow',
  btTranslate: 'translating one guest instruction into the translation cache',
  btCallout: 'a callout from translated code into the VMM and back, excluding the emulation',
  btIndirectBranch: 'the extra cost of an indirect branch or return in translated code (target lookup)',
  apicAccess: 'one access to a local APIC register (e.g. a TPR write at 0xFEE00080) by native code: an uncached MMIO access to the on-chip APIC',
  eptWalkReference: 'one EPT paging-structure read during a two-dimensional TLB-miss walk (the references nested paging adds to the native walk)',
};

export type CostBasis = 'measured' | 'derived' | 'approximate' | 'nominal';

export interface CostValue {
  readonly cycles: number;
  readonly basis: CostBasis;
  /** Where the number comes from (paper, table, arithmetic). */
  readonly source: string;
}

export interface CostPreset {
  readonly id: CostPresetId;
  readonly title: string;
  readonly values: Readonly<Record<CostParameter, CostValue>>;
}

export const COST_PRESET_IDS = ['p4-2006', 'modern'] as const;
export type CostPresetId = (typeof COST_PRESET_IDS)[number];

export const COST_PRESETS: Readonly<Record<CostPresetId, CostPreset>> = costParameterPresets;

/** Largest cycle value accepted for one parameter (a sanity bound: ~0.26 s at 3.8 GHz). */
export const MAX_COST_CYCLES = 1_000_000_000;

/** A resolved model: preset values with overrides applied. Lookups are array reads (hot-path friendly). */
export class CostModel {
  private readonly table: Float64Array;

  constructor(
    readonly preset: CostPresetId,
    readonly overrides: Readonly<Partial<Record<CostParameter, number>>> = {},
  ) {
    this.table = new Float64Array(COST_PARAMETERS.length);
    COST_PARAMETERS.forEach((parameter, index) => {
      this.table[index] = overrides[parameter] ?? COST_PRESETS[preset].values[parameter].cycles;
    });
  }

  cycles(parameter: CostParameter): number {
    return this.table[PARAMETER_INDEX[parameter]]!;
  }

  /** Cycles of a parameter named by string (handler steps name their cost); 0 with a diagnostic if unknown. */
  cyclesOf(name: string): { readonly cycles: number; readonly problem?: string } {
    return isCostParameter(name) ? { cycles: this.cycles(name) } : { cycles: 0, problem: `unknown cost parameter '${name}'` };
  }

  /** Sum of a path of events, e.g. ['exceptionDelivery', 'vmmEntry', 'emulationStep', 'vmmExit']. */
  pathCycles(path: readonly CostParameter[]): number {
    let sum = 0;
    for (const parameter of path) sum += this.cycles(parameter);
    return sum;
  }

  /** Every parameter with its cycles and whether it was overridden. */
  describe(): readonly { parameter: CostParameter; cycles: number; overridden: boolean; basis: CostBasis; source: string }[] {
    return COST_PARAMETERS.map((parameter) => {
      const overridden = this.overrides[parameter] !== undefined;
      const value = COST_PRESETS[this.preset].values[parameter];
      return {
        parameter,
        cycles: this.cycles(parameter),
        overridden,
        basis: overridden ? 'nominal' : value.basis,
        source: overridden ? 'costOverrides (launch configuration)' : value.source,
      };
    });
  }

  toJSON(): { preset: CostPresetId; overrides: Partial<Record<CostParameter, number>> } {
    return { preset: this.preset, overrides: { ...this.overrides } };
  }
}

const PARAMETER_INDEX = Object.fromEntries(COST_PARAMETERS.map((parameter, index) => [parameter, index])) as Record<CostParameter, number>;

export function isCostParameter(name: string): name is CostParameter {
  return Object.prototype.hasOwnProperty.call(PARAMETER_INDEX, name);
}

export type CostModelResult = { readonly ok: true; readonly model: CostModel } | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Builds a model from the launch options `costModel` (preset id) and `costOverrides` (object of parameter name →
 * cycles). Never throws: every problem becomes one clear message (unknown preset, unknown parameter with a
 * suggestion, value that is not a finite, non-negative number within MAX_COST_CYCLES).
 */
export function resolveCostModel(preset: unknown = 'p4-2006', overrides: unknown = {}): CostModelResult {
  const errors: string[] = [];
  let presetId: CostPresetId = 'p4-2006';
  if (typeof preset !== 'string' || !(COST_PRESET_IDS as readonly string[]).includes(preset)) {
    errors.push(`costModel must be one of ${COST_PRESET_IDS.map((id) => `'${id}'`).join(', ')}; got ${JSON.stringify(preset)}`);
  } else {
    presetId = preset as CostPresetId;
  }
  const accepted: Partial<Record<CostParameter, number>> = {};
  if (overrides === undefined || overrides === null) {
    // no overrides
  } else if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    errors.push(`costOverrides must be an object of parameter name → cycles, e.g. { "vmExit": 1200 }; got ${JSON.stringify(overrides)}`);
  } else {
    for (const [name, value] of Object.entries(overrides as Record<string, unknown>)) {
      if (!isCostParameter(name)) {
        const suggestion = closestParameter(name);
        errors.push(`costOverrides: unknown cost parameter '${name}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; known: ${COST_PARAMETERS.join(', ')}`);
        continue;
      }
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_COST_CYCLES) {
        errors.push(`costOverrides.${name} must be a number of cycles between 0 and ${MAX_COST_CYCLES}; got ${JSON.stringify(value)}`);
        continue;
      }
      accepted[name] = value;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, model: new CostModel(presetId, accepted) };
}

/** The known parameter nearest to a misspelt name (case-insensitive edit distance ≤ 3). */
function closestParameter(name: string): CostParameter | undefined {
  let best: CostParameter | undefined;
  let bestDistance = 4;
  for (const parameter of COST_PARAMETERS) {
    const distance = editDistance(name.toLowerCase(), parameter.toLowerCase());
    if (distance < bestDistance) {
      best = parameter;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
