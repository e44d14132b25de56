// Launch options of the built-in hardware-assisted VMM: which VM-execution controls it sets (SDM Vol. 3C
// 25.6), so students can switch e.g. HLT exiting or I/O exiting on and off and watch the exits change.
// Parsed from plain data (launch.json / CLI) with diagnostics, never exceptions.

export interface HardwareAssistControls {
  /** Primary control bit 7: HLT exits (reason 12); off, the guest halts in non-root operation. */
  readonly hltExiting: boolean;
  /** Primary bit 12: RDTSC exits (reason 16). */
  readonly rdtscExiting: boolean;
  /** Primary bit 9: INVLPG exits (reason 14). */
  readonly invlpgExiting: boolean;
  /** Primary bit 23: MOV DR exits (reason 29). */
  readonly movDrExiting: boolean;
  /** 'all': unconditional I/O exiting (bit 24); 'bitmap': only `exitingPorts` exit (bit 25); 'none': direct port access. */
  readonly io: 'all' | 'bitmap' | 'none';
  readonly exitingPorts: readonly number[];
  /** Secondary bit 2: LGDT/LIDT/SGDT/SIDT (46) and LLDT/LTR/SLDT/STR (47) exit. */
  readonly descriptorTableExiting: boolean;
  /** Pin-based bit 0: external interrupts exit (reason 1) and are injected by the VMM. */
  readonly externalInterruptExiting: boolean;
  /** Exception bitmap (bit n: vector n exits as reason 0 and is reflected). */
  readonly exceptionBitmap: number;
  /**
   * Secondary bit 1 "enable EPT" (with bit 7 "unrestricted guest"): guest-physical memory goes through EPT
   * the VMM builds lazily (one EPT violation per first touch of a 4-KiB page), so paging guests run with their
   * own CR3 and #PF handling. Off: the VMM keeps CR3 virtual and runs the guest on its identity page
   * directory, or — once the guest enables paging — on shadow page tables (every #PF and CR3 load exits).
   */
  readonly ept: boolean;
  /** Primary bits 15/16 (with EPT; without EPT they are always on): MOV to / from CR3 exits (reason 28). */
  readonly cr3LoadExiting: boolean;
  readonly cr3StoreExiting: boolean;
}

export const DEFAULT_CONTROLS: HardwareAssistControls = {
  hltExiting: true, rdtscExiting: false, invlpgExiting: false, movDrExiting: false, io: 'all', exitingPorts: [],
  descriptorTableExiting: false, externalInterruptExiting: false, exceptionBitmap: 0, ept: true, cr3LoadExiting: false,
  cr3StoreExiting: false,
};

const BOOLEAN_KEYS = [
  'hltExiting', 'rdtscExiting', 'invlpgExiting', 'movDrExiting', 'descriptorTableExiting', 'externalInterruptExiting', 'ept',
  'cr3LoadExiting', 'cr3StoreExiting',
] as const;

/** Controls from plain data (e.g. `{ "hltExiting": false, "io": "bitmap", "exitingPorts": [1016] }`). */
export function parseControls(value: unknown): { ok: true; controls: HardwareAssistControls } | { ok: false; errors: string[] } {
  if (value === undefined) return { ok: true, controls: DEFAULT_CONTROLS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, errors: ['vmxControls must be an object'] };
  const input = value as Record<string, unknown>;
  const errors: string[] = [];
  const result: Record<string, unknown> = { ...DEFAULT_CONTROLS };
  for (const [key, v] of Object.entries(input)) {
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      if (typeof v !== 'boolean') errors.push(`vmxControls.${key} must be true or false`);
      else result[key] = v;
    } else if (key === 'io') {
      if (v !== 'all' && v !== 'bitmap' && v !== 'none') errors.push("vmxControls.io must be 'all', 'bitmap' or 'none'");
      else result[key] = v;
    } else if (key === 'exitingPorts') {
      if (!Array.isArray(v) || !v.every((p) => Number.isInteger(p) && p >= 0 && p <= 0xffff)) errors.push('vmxControls.exitingPorts must be port numbers 0..65535');
      else result[key] = v;
    } else if (key === 'exceptionBitmap') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) errors.push('vmxControls.exceptionBitmap must be a 32-bit mask');
      else result[key] = (v as number) >>> 0;
    } else {
      errors.push(`vmxControls has no option '${key}' (known: ${[...BOOLEAN_KEYS, 'io', 'exitingPorts', 'exceptionBitmap'].join(', ')})`);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, controls: result as unknown as HardwareAssistControls };
}
