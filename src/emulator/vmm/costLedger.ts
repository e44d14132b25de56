// The cost ledger: cycles accumulated per layer and per (layer, reason), plus event counts, serialisable.
// Guest instructions are charged in bulk (`chargeInstructions`) so the per-instruction path costs nothing;
// transitions and handler steps are charged one by one under their reason ("#GP: cli at CPL1"…).

import { LAYERS, type Layer } from './layers';

export interface LedgerEntry {
  readonly layer: Layer;
  readonly reason: string;
  readonly cycles: number;
  readonly events: number;
}

export interface LayerTotal {
  readonly layer: Layer;
  readonly cycles: number;
  /** Fraction of all cycles, 0..1. */
  readonly share: number;
}

export interface CostLedgerState {
  readonly entries: readonly LedgerEntry[];
}

/** The reason under which bulk-charged guest instructions are filed. */
export const INSTRUCTIONS_REASON = 'guest instructions';

const LAYER_INDEX = Object.fromEntries(LAYERS.map((layer, index) => [layer, index])) as Record<Layer, number>;

export class CostLedger {
  private readonly layerCycles = new Float64Array(LAYERS.length);
  private readonly entries = new Map<string, { layer: Layer; reason: string; cycles: number; events: number }>();

  /** Adds `cycles` (for `events` occurrences) to a layer under a reason. Negative or non-finite input is ignored and reported. */
  charge(layer: Layer, reason: string, cycles: number, events = 1): boolean {
    if (!Number.isFinite(cycles) || cycles < 0 || !Number.isFinite(events) || events < 0) return false;
    this.layerCycles[LAYER_INDEX[layer]]! += cycles;
    const key = `${layer}\u0000${reason}`;
    const entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, { layer, reason, cycles, events });
    else {
      entry.cycles += cycles;
      entry.events += events;
    }
    return true;
  }

  /** Bulk charge for `count` directly executed instructions in a layer. */
  chargeInstructions(layer: Layer, count: number, cyclesPerInstruction: number): boolean {
    return this.charge(layer, INSTRUCTIONS_REASON, count * cyclesPerInstruction, count);
  }

  get total(): number {
    let sum = 0;
    for (const cycles of this.layerCycles) sum += cycles;
    return sum;
  }

  cyclesIn(layer: Layer): number {
    return this.layerCycles[LAYER_INDEX[layer]]!;
  }

  /** Per-layer totals in LAYERS order (layers with no cycles included, share 0). */
  byLayer(): readonly LayerTotal[] {
    const total = this.total;
    return LAYERS.map((layer) => {
      const cycles = this.cyclesIn(layer);
      return { layer, cycles, share: total === 0 ? 0 : cycles / total };
    });
  }

  /** Entries, most expensive first (ties by layer order, then reason), optionally for one layer. */
  byReason(layer?: Layer): readonly LedgerEntry[] {
    const list = [...this.entries.values()].filter((entry) => layer === undefined || entry.layer === layer);
    return list
      .sort((a, b) => b.cycles - a.cycles || LAYER_INDEX[a.layer] - LAYER_INDEX[b.layer] || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0))
      .map((entry) => ({ ...entry }));
  }

  reset(): void {
    this.layerCycles.fill(0);
    this.entries.clear();
  }

  toJSON(): CostLedgerState {
    return { entries: this.byReason() };
  }

  static fromJSON(state: CostLedgerState): CostLedger {
    const ledger = new CostLedger();
    for (const entry of state.entries) ledger.charge(entry.layer, entry.reason, entry.cycles, entry.events);
    return ledger;
  }
}
