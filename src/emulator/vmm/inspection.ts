// What an engine exposes for inspection beyond the virtual CPU: the translation cache (binary translation),
// the VMCS (hardware assist) and memory-virtualization counters (shadow paging, EPT, PV direct paging). Pure,
// JSON-friendly data; the debug adapter serves it through custom requests and `info tc|vmcs|stats`, and the
// extension's views draw it. Engines implement only what their technique has (see ExecutionEngine in engine.ts).

/** One instruction of a translation, original next to what the translator emitted for it. */
export interface TranslatedInstruction {
  /** Guest linear address of the original instruction. */
  readonly guestAddress: number;
  /** Original instruction, NASM syntax. */
  readonly original: string;
  /** The emitted code for it (one or more NASM-syntax lines), located in the TC. */
  readonly translated: readonly string[];
  /** 'ident' = copied unchanged; 'inline' = rewritten into an inline sequence; 'callout' = call into the VMM. */
  readonly rewrite: 'ident' | 'inline' | 'callout';
  /** Why it was rewritten (empty for ident), e.g. "popf is sensitive but unprivileged (Robin & Irvine)". */
  readonly why: string;
}

/** One translation unit in the translation cache. */
export interface TranslationInfo {
  readonly id: number;
  /** Guest physical/linear start and end (exclusive) of the translated unit. */
  readonly guestStart: number;
  readonly guestEnd: number;
  /** Location of the emitted code in VMM-owned memory. */
  readonly tcStart: number;
  readonly tcEnd: number;
  readonly instructions: readonly TranslatedInstruction[];
  /** Ids of the translations its direct exits are chained to (undefined entries = exit not chained yet). */
  readonly chainedTo: readonly (number | undefined)[];
  /** How many times the translation was entered. */
  readonly hits: number;
  /** Set when the translation was invalidated (self-modifying code, page-table write). */
  readonly invalidated?: string;
}

export interface TranslationCacheInfo {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly translations: readonly TranslationInfo[];
  /** Counters: translations made, invalidations, chained exits, indirect lookups, adaptive re-translations. */
  readonly counters: Readonly<Record<string, number>>;
}

/** A VMCS field as the VMCS view shows it (groups as SDM Vol. 3C 25.3–25.9 group them). */
export interface VmcsFieldValue {
  readonly encoding: number;
  readonly name: string;
  /** Hex text of the raw value (64-bit fields as 16 hex digits). */
  readonly value: string;
  /** Decoded meaning where the SDM gives one (control bits set, exit reason name, interruption info…). */
  readonly decoded?: string;
}

export interface VmcsGroup {
  /** "Guest-state area", "Host-state area", "VM-execution control fields", "VM-exit control fields",
   * "VM-entry control fields", "VM-exit information fields". */
  readonly name: string;
  readonly fields: readonly VmcsFieldValue[];
}

export interface VmcsInfo {
  /** Physical address of the current VMCS (the VMCS pointer), when there is one. */
  readonly pointer?: number;
  readonly launchState: 'clear' | 'launched';
  readonly groups: readonly VmcsGroup[];
}

/** Memory-virtualization counters, named as the literature names them (virtualization.md §7). */
export interface MemoryVirtualizationStats {
  /** 'shadow-paging' | 'nested-paging' (EPT) | 'direct-paging' (PV) | 'none' (guest without paging). */
  readonly scheme: 'shadow-paging' | 'nested-paging' | 'direct-paging' | 'none';
  /** e.g. hiddenFaults, trueFaults, tracingFaults, shadowCr3Switches, eptViolations, eptWalkReferences,
   * tlbMisses, mmuUpdates… */
  readonly counters: Readonly<Record<string, number>>;
}
