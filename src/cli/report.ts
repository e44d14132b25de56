// What `hyperstep run --technique …` prints about the VMM: one trace line per layer transition (--trace), the
// cost summary a student reads in seconds (cycles per layer, the most expensive reasons, overhead against the
// guest's own instructions), and the single JSON document of --json. Pure formatting over the transition log
// and cost ledger (src/emulator/vmm/transitions.ts, costLedger.ts); no I/O here.
import { INSTRUCTIONS_REASON, type CostLedger, type LayerTotal, type LedgerEntry } from '../emulator/vmm/costLedger';
import { LAYER_INFO, layersOf, type Architecture, type Layer, type Technique } from '../emulator/vmm/layers';
import type { VirtualCpuState } from '../emulator/vmm/engine';
import type { Transition } from '../emulator/vmm/transitions';

const hex32 = (value: number) => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
const grouped = (value: number) => Math.round(value).toLocaleString('en-US');
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const title = (layer: Layer) => LAYER_INFO[layer].title;

/**
 * One transition, one line: sequence number, from → to layer, kind, the literature's reason, the guest
 * instruction (linear address and NASM text) when one caused it, and the cycles charged for the hop.
 *   #41 guest kernel → VMM  trap  #GP: out dx, al at CPL1  [0x00100a3c out dx, al]  1,500 cycles
 */
export function formatTransition(t: Transition): string {
  const where = t.instruction === undefined ? '' : `  [${hex32(t.instruction.address)} ${t.instruction.text}]`;
  return `#${t.seq} ${title(t.from)} → ${title(t.to)}  ${t.kind}  ${t.reason}${where}  ${grouped(t.cost)} cycles`;
}

export interface RunFacts {
  readonly technique: Technique;
  readonly architecture: Architecture;
  readonly costModel: string;
  readonly instructions: number;
  readonly transitions: number;
  /** Transitions per reason: the count column shows events, not the handler steps the ledger also counts. */
  readonly transitionsByReason?: ReadonlyMap<string, number>;
}

/** Cycles the guest's own instructions cost (what the same instructions would cost with no VMM around them). */
export function guestInstructionCycles(ledger: CostLedger): number {
  let sum = 0;
  for (const entry of ledger.byReason()) if (entry.reason === INSTRUCTIONS_REASON) sum += entry.cycles;
  return sum;
}

/** The layers worth a row: those of this technique/architecture, plus any other layer that was charged. */
function summaryLayers(ledger: CostLedger, technique: Technique, architecture: Architecture): LayerTotal[] {
  const present = new Set<Layer>(layersOf(technique, architecture));
  return ledger.byLayer().filter((row) => present.has(row.layer) || row.cycles > 0);
}

/** The compact per-layer and per-reason table printed on stderr at the end of a run. */
export function formatCostSummary(ledger: CostLedger, facts: RunFacts, topReasons = 8): string {
  const total = ledger.total;
  const lines: string[] = [];
  lines.push(
    `── cost summary: ${facts.technique}, ${facts.architecture}, cost model ${facts.costModel} ── ` +
      `${grouped(total)} cycles, ${grouped(facts.instructions)} guest instructions, ${grouped(facts.transitions)} transitions`,
  );
  const layerWidth = Math.max(...Object.values(LAYER_INFO).map((info) => info.title.length));
  const rows = summaryLayers(ledger, facts.technique, facts.architecture);
  const cycleWidth = Math.max(6, ...rows.map((row) => grouped(row.cycles).length));
  lines.push(`  ${'layer'.padEnd(layerWidth)}  ${'cycles'.padStart(cycleWidth)}   share`);
  for (const row of rows) lines.push(`  ${title(row.layer).padEnd(layerWidth)}  ${grouped(row.cycles).padStart(cycleWidth)}  ${percent(row.share).padStart(6)}`);
  const count = (entry: LedgerEntry) => (entry.reason === INSTRUCTIONS_REASON ? entry.events : facts.transitionsByReason?.get(entry.reason) ?? entry.events);
  const reasons: LedgerEntry[] = ledger.byReason().slice(0, topReasons);
  if (reasons.length > 0) {
    const reasonWidth = Math.min(48, Math.max(6, ...reasons.map((entry) => entry.reason.length)));
    const countWidth = Math.max(5, ...reasons.map((entry) => grouped(count(entry)).length));
    const reasonCycleWidth = Math.max(6, ...reasons.map((entry) => grouped(entry.cycles).length));
    lines.push(`  top reasons (layer, reason, count, cycles, share):`);
    for (const entry of reasons) {
      const reason = entry.reason.length > reasonWidth ? `${entry.reason.slice(0, reasonWidth - 1)}…` : entry.reason;
      lines.push(
        `  ${title(entry.layer).padEnd(layerWidth)}  ${reason.padEnd(reasonWidth)}  ${grouped(count(entry)).padStart(countWidth)} ×` +
          `  ${grouped(entry.cycles).padStart(reasonCycleWidth)}  ${percent(total === 0 ? 0 : entry.cycles / total).padStart(6)}`,
      );
    }
  }
  if (facts.technique !== 'native') {
    const own = guestInstructionCycles(ledger);
    if (own > 0) {
      lines.push(
        `  the guest's own instructions: ${grouped(own)} cycles; traps, VMM and I/O path: ${grouped(total - own)} cycles ` +
          `(${percent(1 - own / total)} of the run, ${(total / own).toFixed(1)}× the guest's own work)`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** For --dump: the CPU the guest believes in, to read next to the real registers printed above it. */
export function formatVirtualCpu(v: VirtualCpuState): string {
  const table = (t: { base: number; limit: number }) => `${hex32(t.base)}/${t.limit.toString(16)}`;
  return (
    `virtual cpu: cpl=${v.cpl} if=${v.interruptFlag ? 1 : 0} iopl=${v.iopl} cr0=${hex32(v.cr0)} cr3=${hex32(v.cr3)} ` +
    `gdtr=${table(v.gdtr)} idtr=${table(v.idtr)} tr=${v.tr.toString(16)} pending=[${v.pendingVectors.map((n) => `0x${n.toString(16)}`).join(', ')}]\n`
  );
}

export interface JsonReport {
  readonly file: string;
  readonly technique: Technique;
  readonly architecture: Architecture;
  readonly costModel: { readonly preset: string; readonly overrides: Readonly<Record<string, number>> };
  /** The guest's COM1 output (latin-1/UTF-8 decoded as streamed). */
  readonly output: string;
  readonly stop: { readonly reason: string; readonly detail: string };
  readonly exitStatus: number;
  readonly instructions: number;
  readonly exitCounts: readonly { readonly reason: number; readonly name?: string; readonly count: number }[];
  readonly ledger: {
    readonly total: number;
    readonly byLayer: readonly LayerTotal[];
    readonly byReason: readonly LedgerEntry[];
  };
  readonly transitionCount: number;
  /** Every transition, only with --trace. */
  readonly transitions?: readonly Transition[];
}

export function ledgerJson(ledger: CostLedger, technique: Technique, architecture: Architecture): JsonReport['ledger'] {
  return { total: ledger.total, byLayer: summaryLayers(ledger, technique, architecture), byReason: ledger.byReason() };
}
