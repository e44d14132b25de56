// SPDX-License-Identifier: MIT
// Which RAM pages the guest wrote since the last look, so checkpoints copy only those instead of comparing
// all of RAM. Built on the IA-32 core's self-modifying-code hook: the MMU calls `onCodeWrite(page)` on
// the first write to a page marked in `codePages`, and the block cache then unmarks the page. Marking every
// page turns that into "first write per page since re-arming", at the cost of one call per page per
// checkpoint period; the core still invalidates its decoded blocks exactly as before. Machines whose CPU
// has no such hook fall back to comparing every page.
import type { Machine } from '../machine/machine';

/** A source of pages written since the last `collect`. */
export interface PageWriteSource {
  /** Pages possibly written since the previous call (or since reset), or 'all' when unknown; re-arms. */
  collect(): Iterable<number> | 'all';
  /** RAM was replaced wholesale (a checkpoint restore or a reset): start over with nothing written. */
  reset(): void;
}

interface HookedMmu {
  readonly codePages: Uint8Array;
  onCodeWrite: (page: number) => void;
}

/** Every page, every time: the fallback for CPUs without the write hook. */
export const compareAllPages: PageWriteSource = { collect: () => 'all', reset: () => undefined };

/** Tracks guest writes through the IA-32 core's MMU hook; falls back to 'all' for other cores. */
export function trackPageWrites(machine: Machine): PageWriteSource {
  const mmu = (machine.cpu as { core?: { mmu?: HookedMmu } }).core?.mmu;
  if (mmu === undefined || !(mmu.codePages instanceof Uint8Array) || typeof mmu.onCodeWrite !== 'function') return compareAllPages;
  const marks = mmu.codePages;
  const written = new Uint8Array(marks.length);
  let list: number[] = [];
  const invalidateDecodedCode = mmu.onCodeWrite;
  mmu.onCodeWrite = (page) => {
    if (page < written.length && written[page] === 0) {
      written[page] = 1;
      list.push(page);
    }
    invalidateDecodedCode(page);
  };
  marks.fill(1);
  return {
    collect() {
      const pages = list;
      list = [];
      for (const p of pages) {
        written[p] = 0;
        marks[p] = 1;
      }
      return pages;
    },
    reset() {
      for (const p of list) written[p] = 0;
      list = [];
      marks.fill(1); // the core's loadState/reset cleared the marks of pages holding code
    },
  };
}
