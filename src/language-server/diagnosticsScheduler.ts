// When to re-assemble after a keystroke. Assembly runs after a pause in typing (debounced), and the pause
// follows what assembling this document costs: a file that assembles in 10 ms waits 25 ms, one that takes
// 80 ms waits 150 ms, so small and mid-sized guests get their diagnostics almost at once while a huge one
// is not re-assembled on every key. A fixed delay (the tests) overrides the adaptive one.
export const MIN_DELAY_MS = 25;
export const MAX_DELAY_MS = 150;

/** The pause before re-assembling a document whose last assembly took `lastAssemblyMs` (undefined: never yet). */
export function debounceDelay(lastAssemblyMs: number | undefined): number {
  if (lastAssemblyMs === undefined) return MIN_DELAY_MS;
  return Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, Math.round(2 * lastAssemblyMs)));
}

export class DiagnosticsScheduler {
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastCostMs = new Map<string, number>();

  /** `publish` assembles and sends; it returns how long the assembly took. */
  constructor(private readonly publish: (uri: string) => number | undefined, private readonly fixedDelayMs?: number) {}

  schedule(uri: string): void {
    clearTimeout(this.pending.get(uri));
    const delay = this.fixedDelayMs ?? debounceDelay(this.lastCostMs.get(uri));
    this.pending.set(uri, setTimeout(() => {
      this.pending.delete(uri);
      const cost = this.publish(uri);
      if (cost !== undefined) this.lastCostMs.set(uri, cost);
    }, delay));
  }

  forget(uri: string): void {
    clearTimeout(this.pending.get(uri));
    this.pending.delete(uri);
    this.lastCostMs.delete(uri);
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
