// SPDX-License-Identifier: MIT
// Exception breakpoint filters for virtualization events (issue 7, "Breakpoints"): VM exits by SDM exit
// reason, traps by vector, hypercalls by number or name, binary-translation rewrites, shadow-paging syncs and
// EPT violations, I/O hops per architecture layer, interrupt injection. Each filter is a predicate over the
// engine's Transition records (src/emulator/vmm/transitions.ts) with an optional condition, and each match
// is explained in one sentence a student can act on. No DAP types: the session turns VMM_EVENT_FILTERS into
// exceptionBreakpointFilters and the runtime calls matchVmmEvent from the transition log's listener.
import { EXCEPTION_MNEMONICS, type Transition, type TransitionKind } from '../emulator/vmm/transitions';
import { exitReasonInfo } from '../emulator/vmm/exitReasons';
import { HYPERCALLS } from '../emulator/vmm/hypercalls';
import { LAYER_INFO, LAYERS, type Layer } from '../emulator/vmm/layers';

export type VmmEventFilterId = 'vmm-trap' | 'trap-vector' | 'hypercall' | 'bt-translation' | 'memory-virtualization' | 'io-hop' | 'interrupt-injection';

export interface VmmEventFilterSpec {
  readonly id: VmmEventFilterId;
  readonly label: string;
  readonly description: string;
  readonly conditionDescription: string;
}

/** The filters, in the order the Breakpoints view lists them. */
export const VMM_EVENT_FILTERS: readonly VmmEventFilterSpec[] = [
  {
    id: 'vmm-trap', label: 'VM exits by SDM reason (VMM traps)',
    description: 'Stop when the guest enters the VMM (a trap of the deprivileged guest, or a VT-x VM exit), at the first step of the VMM handler; step in walks the handler.',
    conditionDescription: 'Comma-separated SDM exit-reason numbers or words of the reason, e.g. "30" or "cli, hlt" (empty: all)',
  },
  {
    id: 'trap-vector', label: 'VMM traps by vector',
    description: 'Stop when an exception or software interrupt of the guest traps into the VMM, by vector.',
    conditionDescription: 'Vectors, e.g. "13", "#GP, #PF" or "0x80" (empty: all)',
  },
  {
    id: 'hypercall', label: 'Hypercalls',
    description: 'Stop when a paravirtual guest calls the VMM (int 0x82, or VMCALL under VT-x).',
    conditionDescription: 'Hypercall numbers or names, e.g. "18" or "console_io, sched_op" (empty: all)',
  },
  {
    id: 'bt-translation', label: 'Binary translation and rewrites',
    description: 'Stop when the VMM translates a guest unit into the translation cache (binary translation).',
    conditionDescription: 'Words of the translation, e.g. "popf" or "rewritten" (empty: all)',
  },
  {
    id: 'memory-virtualization', label: 'Shadow-page-table sync and EPT violations',
    description: 'Stop on shadow-paging events (hidden fault, tracing fault, CR3 switch) and on VM exit 48 (EPT violation).',
    conditionDescription: 'Words, e.g. "hidden", "tracing", "cr3" or "ept" (empty: all)',
  },
  {
    id: 'io-hop', label: 'I/O hops per architecture layer',
    description: 'Stop when an I/O request of the guest moves between layers: VMM, management OS, host OS, host process, device.',
    conditionDescription: 'Layers the hop goes to, e.g. "management-os", "host-os-kernel" or "device" (empty: all)',
  },
  {
    id: 'interrupt-injection', label: 'Interrupt injection',
    description: 'Stop when the VMM delivers a virtual interrupt (or PV event upcall) to the guest kernel.',
    conditionDescription: 'Vectors, e.g. "0x20" (empty: all)',
  },
];

export const VMM_EVENT_FILTER_IDS: ReadonlySet<string> = new Set(VMM_EVENT_FILTERS.map((f) => f.id));

/** A filter that is on, with its parsed condition. */
export interface VmmEventFilter {
  readonly id: VmmEventFilterId;
  /** Lower-case terms of the condition; empty: every event of the kind. */
  readonly terms: readonly string[];
  /** Numbers in the condition (exit reasons, vectors, hypercall numbers). */
  readonly numbers: ReadonlySet<number>;
}

/** Parses "13, #GP 0x80 console_io" into terms and numbers; exception mnemonics become their vectors. */
export function parseVmmFilter(id: VmmEventFilterId, condition: string | undefined): VmmEventFilter | string {
  const terms = (condition ?? '').split(/[\s,]+/).map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
  const numbers = new Set<number>();
  for (const term of terms) {
    const mnemonic = EXCEPTION_MNEMONICS.findIndex((m) => m.toLowerCase() === term);
    const n = mnemonic >= 0 ? mnemonic : /^0x[0-9a-f]+$/.test(term) ? parseInt(term.slice(2), 16) : /^\d+$/.test(term) ? Number(term) : NaN;
    if (Number.isInteger(n)) numbers.add(n);
    else if ((id === 'trap-vector' || id === 'interrupt-injection') && term !== '') return `'${term}' is not a vector (a number such as 13 or 0x20, or a name such as #GP)`;
  }
  if (id === 'io-hop') {
    for (const term of terms) if (!LAYERS.some((l) => l.includes(term)) && !/^(host|guest|vmm|device|management|os|process|kernel)$/.test(term)) return `'${term}' is not a layer (one of ${LAYERS.join(', ')})`;
  }
  return { id, terms, numbers };
}

const KINDS: Readonly<Record<VmmEventFilterId, readonly TransitionKind[]>> = {
  'vmm-trap': ['trap', 'vm-exit'],
  'trap-vector': ['trap'],
  hypercall: ['hypercall'],
  'bt-translation': ['translation'],
  'memory-virtualization': ['shadow-paging', 'vm-exit'],
  'io-hop': ['io-hop', 'world-switch'],
  'interrupt-injection': ['interrupt-injection'],
};

function words(t: Transition): string {
  return `${t.reason} ${String(t.details['exitName'] ?? '')} ${t.instruction?.text ?? ''}`.toLowerCase();
}

function numberDetail(t: Transition, key: string): number | undefined {
  const v = t.details[key];
  return typeof v === 'number' ? v : undefined;
}

/** The transition's SDM exit reason: from its details, or "VM exit N (…)" in its reason. */
export function exitReasonOf(t: Transition): number | undefined {
  const direct = numberDetail(t, 'exitReason');
  if (direct !== undefined) return direct;
  const m = /^VM exit (\d+)/.exec(t.reason);
  return m === null ? undefined : Number(m[1]);
}

/** True when the transition is an event this filter stops on. */
export function matchVmmEvent(filter: VmmEventFilter, t: Transition): boolean {
  if (!KINDS[filter.id].includes(t.kind)) return false;
  const any = filter.terms.length === 0;
  switch (filter.id) {
    case 'vmm-trap': {
      // "VMM regains control" entries are bookkeeping of an interrupt window, not a guest instruction's exit.
      if (t.kind === 'trap' && /^VMM regains control/.test(t.reason)) return false;
      const reason = exitReasonOf(t);
      return any || filter.terms.some((term) => (/^\d+$/.test(term) ? Number(term) === reason : words(t).includes(term)));
    }
    case 'trap-vector': {
      const vector = numberDetail(t, 'vector');
      return vector !== undefined && (any || filter.numbers.has(vector));
    }
    case 'hypercall': {
      const number = numberDetail(t, 'hypercall');
      const numeric = (term: string): number | undefined => (/^0x[0-9a-f]+$/.test(term) ? parseInt(term.slice(2), 16) : /^\d+$/.test(term) ? Number(term) : undefined);
      return any || filter.terms.some((term) => {
        const n = numeric(term);
        return n !== undefined ? n === number : words(t).includes(term);
      });
    }
    case 'memory-virtualization':
      if (t.kind === 'vm-exit' && exitReasonOf(t) !== 48) return false;
      return any || filter.terms.some((term) => words(t).includes(term) || (term === 'ept' && exitReasonOf(t) === 48));
    case 'io-hop':
      return any || filter.terms.some((term) => t.to.includes(term) || LAYER_INFO[t.to].title.toLowerCase().includes(term));
    case 'interrupt-injection': {
      const vector = numberDetail(t, 'vector');
      return any || (vector !== undefined && filter.numbers.has(vector));
    }
    case 'bt-translation':
      return any || filter.terms.some((term) => words(t).includes(term));
  }
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** What the stop says: a name for the exception widget and one sentence a student can act on. */
export interface VmmEventExplanation {
  readonly name: string;
  readonly sentence: string;
}

/**
 * Explains a matched event. `at` describes the guest instruction ("start+0x5 (0x100005)"), `inHandler` is
 * the VMM handler the stop is in (name and first step), if any.
 */
export function explainVmmEvent(t: Transition, at: string | undefined, inHandler: { name: string; next?: string } | undefined): VmmEventExplanation {
  const where = at === undefined ? '' : ` at ${at}`;
  const handler = inHandler === undefined ? '' : ` Stopped at the start of the VMM's "${inHandler.name}"${inHandler.next === undefined ? '' : ` (next step: ${inHandler.next})`}: step in to walk its steps, step out to return to the guest.`;
  const reason = exitReasonOf(t);
  const exitInfo = reason === undefined ? undefined : exitReasonInfo(reason);
  const exitText = exitInfo === undefined ? '' : ` SDM exit reason ${reason} (${exitInfo.name}): ${exitInfo.explanation}`;
  switch (t.kind) {
    case 'trap': {
      const vector = numberDetail(t, 'vector');
      const privileged = /^#GP: (\w+)/.exec(t.reason);
      const why = privileged !== null
        ? `The deprivileged guest kernel executed ${privileged[1]}${where}, which is privileged at its real CPL, so the CPU raised #GP and the VMM takes over to emulate it on the virtual CPU.`
        : vector !== undefined && vector >= 32 && /^int /.test(t.reason)
          ? `The guest executed ${t.reason.replace(/ at CPL\d/, '')}${where}; under this technique software interrupts go to the VMM first, which reflects them through the guest's virtual IDT.`
          : `${t.reason}${where}: the VMM takes the event first (the guest does not own the real IDT).`;
      return { name: reason === undefined ? `VMM trap: ${t.reason}` : `VM exit ${reason}: ${exitInfo?.name ?? t.reason}`, sentence: `${why}${exitText}${handler}` };
    }
    case 'vm-exit':
      if (reason === 48) return { name: 'EPT violation (VM exit 48)', sentence: `The guest's access${where} was not allowed by the EPT (nested page tables): the VMM maps the page or reports the fault.${handler}` };
      return { name: `VM exit ${reason ?? ''}: ${exitInfo?.name ?? t.reason}`, sentence: `The guest in VMX non-root mode did something the VM-execution controls make exit${where}.${exitText} Change the vmxControls launch option to see this exit appear or disappear.${handler}` };
    case 'hypercall': {
      const number = numberDetail(t, 'hypercall');
      const info = HYPERCALLS.find((h) => h.number === number);
      const args = info === undefined ? '' : `(${info.args.map((a) => `${a.name}=${hex(numberDetail(t, a.register) ?? 0)}`).join(', ')})`;
      return { name: `hypercall ${number ?? ''} ${info?.name ?? ''}`.trim(), sentence: `The paravirtual guest kernel asked the VMM for ${info?.name ?? t.reason}${args}${where} instead of executing a privileged instruction: ${info?.description ?? 'see samples/include/hypercall.inc'} The result comes back in EAX.` };
    }
    case 'translation':
      return { name: `BT: ${t.reason}`, sentence: `The VMM translated guest code${where} into its translation cache: ${t.reason}. Sensitive instructions were rewritten so the guest keeps bare-metal behaviour; "info tc" lists the translation.` };
    case 'shadow-paging':
      return { name: `shadow paging: ${t.reason}`, sentence: `${t.reason}${where}: the VMM keeps its shadow page tables in sync with the guest's, which costs a VMM entry each time; "info stats" shows the counters.` };
    case 'io-hop':
    case 'world-switch':
      return { name: `I/O hop → ${LAYER_INFO[t.to as Layer].title}`, sentence: `${t.reason}: on this architecture the guest's I/O request travels ${t.from} → ${t.to}; each hop costs cycles, which is why I/O-heavy guests are slower here (compare the architectures).` };
    case 'interrupt-injection': {
      const vector = numberDetail(t, 'vector');
      return { name: `interrupt injection${vector === undefined ? '' : ` ${hex(vector)}`}`, sentence: `${t.reason}: the VMM delivers the interrupt through the guest's virtual IDT now that the virtual IF is 1; the guest's handler runs next, above a layer separator in the call stack.` };
    }
    default:
      return { name: t.reason, sentence: `${t.kind}: ${t.reason}${where}.` };
  }
}
