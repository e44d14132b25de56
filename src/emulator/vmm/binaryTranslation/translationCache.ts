// The translation cache (TC): compiled code fragments in VMM-owned RAM, indexed by guest physical address plus
// the mode bits that change translation (code-segment selector, base and size), with the bookkeeping VMware's
// BT keeps (Adams & Agesen §3.1): exit slots chained to their target fragments and unchained again when a
// target is invalidated, callout sites recognised by TC address, the guest pages each fragment was translated
// from (a write that changes those bytes invalidates the fragment), per-fragment entry counts, and counters.
// Allocation is a bump pointer; when the TC is full it is flushed as a whole (as a code cache does). The index
// is plain data: saveState/loadState carry it with RAM, which holds the fragments themselves.

import { disassembleOne } from '../../disasm/disassembler';
import type { TranslationCacheInfo, TranslationInfo } from '../inspection';
import { CALLOUT_VECTOR } from './layout';
import type { PlannedCallout, UnitPlan } from './translator';

export interface Translation {
  readonly id: number;
  readonly key: number;
  readonly plan: UnitPlan;
  readonly tcStart: number;
  readonly tcEnd: number;
  /** The guest bytes the fragment was translated from, and the guest-physical address of each. */
  readonly source: readonly number[];
  readonly sourceAddresses: readonly number[];
  readonly pages: readonly number[];
  /** Per exit slot: the id of the fragment it jumps to, or undefined while it is still a callout. */
  readonly chained: (number | undefined)[];
  hits: number;
  invalidated?: string;
}

export interface CalloutSite {
  readonly translation: Translation;
  readonly callout: PlannedCallout;
}

export interface TranslationCacheState {
  readonly next: number;
  readonly nextId: number;
  readonly modes: readonly string[];
  readonly counters: Readonly<Record<string, number>>;
  readonly translations: readonly (Omit<Translation, 'plan'> & { readonly plan: Omit<UnitPlan, 'code'> & { readonly code: readonly number[] } })[];
}

const SLOT_BYTES = [0xcd, CALLOUT_VECTOR, 0x90, 0x90, 0x90];
const COUNTER_NAMES = ['translations', 'translatedInstructions', 'identInstructions', 'rewrittenInstructions', 'calloutsExecuted', 'chainedExits', 'unchainedExits', 'indirectLookups', 'invalidations', 'writeChecks', 'adaptiveRetranslations', 'flushes', 'inlineRollbacks'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

export class TranslationCache {
  private next: number;
  private nextId = 1;
  private modes: string[] = [];
  private readonly byKey = new Map<number, Translation>();
  private readonly byId = new Map<number, Translation>();
  /** Every fragment still occupying TC space, in allocation (= address) order. */
  private all: Translation[] = [];
  private readonly sites = new Map<number, CalloutSite>();
  private readonly byPage = new Map<number, Set<Translation>>();
  /** For each fragment id: the exits chained to it. */
  private readonly incoming = new Map<number, { from: Translation; exit: number }[]>();
  readonly counters: Record<CounterName, number> = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Record<CounterName, number>;

  constructor(
    private readonly ram: Uint8Array,
    readonly base: number,
    readonly size: number,
    /** Drops the CPU's decoded blocks of a TC page after the VMM patched it. */
    private readonly invalidateCpuPage: (page: number) => void,
  ) {
    this.next = base;
  }

  /** The key of guest physical address `physical` in a code mode ("selector:base:bits"). */
  keyOf(physical: number, mode: string): number {
    let index = this.modes.indexOf(mode);
    if (index < 0) index = this.modes.push(mode) - 1;
    return physical + index * 0x100000000;
  }

  lookup(key: number): Translation | undefined {
    return this.byKey.get(key);
  }

  get usedBytes(): number {
    return this.next - this.base;
  }

  /**
   * Copies a planned fragment into the TC and indexes it under the guest-physical pages of its source bytes
   * (`physicalOf` maps guest-linear to guest-physical); undefined when the TC is full (flush, then retry).
   */
  install(key: number, plan: UnitPlan, physicalOf: (linear: number) => number | undefined): Translation | undefined {
    if (this.next + plan.code.length > this.base + this.size) return undefined;
    const sourceAddresses: number[] = [];
    const source: number[] = [];
    for (const instruction of plan.instructions) {
      for (let i = 0; i < instruction.bytes.length; i++) {
        const physical = physicalOf((instruction.guestAddress + i) >>> 0);
        if (physical === undefined) continue;
        sourceAddresses.push(physical);
        source.push(instruction.bytes[i]!);
      }
    }
    const tcStart = this.next;
    this.ram.set(plan.code, tcStart);
    this.next += plan.code.length;
    const pages = [...new Set(sourceAddresses.map((address) => address >>> 12))];
    const translation: Translation = {
      id: this.nextId++,
      key,
      plan,
      tcStart,
      tcEnd: this.next,
      source,
      sourceAddresses,
      pages,
      chained: plan.exits.map(() => undefined),
      hits: 0,
    };
    this.index(translation);
    plan.exits.forEach((exit, index) => {
      if (exit.internalBranch === undefined) return;
      translation.chained[index] = translation.id; // a loop to its own start, chained by the translator
      this.linkIncoming(translation, index, translation.id);
      this.counters.chainedExits++;
    });
    for (let page = tcStart >>> 12; page <= (this.next - 1) >>> 12; page++) this.invalidateCpuPage(page);
    this.counters.translations++;
    this.counters.translatedInstructions += plan.instructions.length;
    for (const instruction of plan.instructions) {
      if (instruction.rewrite === 'ident') this.counters.identInstructions++;
      else this.counters.rewrittenInstructions++;
    }
    return translation;
  }

  private index(translation: Translation): void {
    this.all.push(translation);
    this.byId.set(translation.id, translation);
    if (translation.invalidated === undefined) {
      this.byKey.set(translation.key, translation);
      for (const page of translation.pages) {
        let set = this.byPage.get(page);
        if (set === undefined) this.byPage.set(page, (set = new Set()));
        set.add(translation);
      }
    }
    for (const callout of translation.plan.callouts) this.sites.set(translation.tcStart + callout.returnOffset, { translation, callout });
  }

  /** The callout whose `int` returns to `eip` (the EIP the CPU reports for a software interrupt). */
  siteAt(eip: number): CalloutSite | undefined {
    return this.sites.get(eip >>> 0);
  }

  contains(address: number): boolean {
    return address >= this.base && address < this.base + this.size;
  }

  /** The fragment whose code holds `address`. */
  translationAt(address: number): Translation | undefined {
    let low = 0;
    let high = this.all.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const t = this.all[middle]!;
      if (address < t.tcStart) high = middle - 1;
      else if (address >= t.tcEnd) low = middle + 1;
      else return t;
    }
    return undefined;
  }

  /** The guest EIP that corresponds to an instruction boundary in translated code; undefined between boundaries. */
  guestEipAt(address: number): number | undefined {
    const t = this.translationAt(address);
    if (t === undefined) return undefined;
    const index = t.plan.boundaryOffsets.indexOf(address - t.tcStart);
    return index < 0 ? undefined : t.plan.boundaryEips[index];
  }

  byIdOf(id: number): Translation | undefined {
    return this.byId.get(id);
  }

  /** Patches exit `exit` of `from` into `jmp rel32` to `to` (a chained exit no longer enters the VMM). */
  chain(from: Translation, exit: number, to: Translation): boolean {
    if (from.invalidated !== undefined || to.invalidated !== undefined || from.chained[exit] !== undefined) return false;
    const slot = from.tcStart + from.plan.exits[exit]!.offset;
    const relative = (to.tcStart - (slot + 5)) | 0;
    this.patch(slot, [0xe9, relative & 0xff, (relative >>> 8) & 0xff, (relative >>> 16) & 0xff, (relative >>> 24) & 0xff]);
    from.chained[exit] = to.id;
    this.linkIncoming(from, exit, to.id);
    this.counters.chainedExits++;
    return true;
  }

  private linkIncoming(from: Translation, exit: number, to: number): void {
    let list = this.incoming.get(to);
    if (list === undefined) this.incoming.set(to, (list = []));
    list.push({ from, exit });
  }

  private unchain(from: Translation, exit: number): void {
    if (from.chained[exit] === undefined) return;
    from.chained[exit] = undefined;
    const planned = from.plan.exits[exit]!;
    if (planned.internalBranch !== undefined) {
      // Re-aim the loop's rel32 (the 4 bytes after the jcc opcode) at its exit slot, which is still a callout.
      const relative = planned.offset - (planned.internalBranch + 4);
      this.patch(from.tcStart + planned.internalBranch, [relative & 0xff, (relative >>> 8) & 0xff, (relative >>> 16) & 0xff, (relative >>> 24) & 0xff]);
    } else {
      this.patch(from.tcStart + planned.offset, SLOT_BYTES);
    }
    this.counters.unchainedExits++;
  }

  private patch(address: number, bytes: readonly number[]): void {
    this.ram.set(bytes, address);
    this.invalidateCpuPage(address >>> 12);
    if ((address + bytes.length - 1) >>> 12 !== address >>> 12) this.invalidateCpuPage((address + bytes.length - 1) >>> 12);
  }

  /** Removes a fragment from the index and unchains every exit into and out of it; its space stays until a flush. */
  invalidate(translation: Translation, why: string): void {
    if (translation.invalidated !== undefined) return;
    translation.invalidated = why;
    if (this.byKey.get(translation.key) === translation) this.byKey.delete(translation.key);
    for (const page of translation.pages) this.byPage.get(page)?.delete(translation);
    for (const { from, exit } of this.incoming.get(translation.id) ?? []) if (from.chained[exit] === translation.id) this.unchain(from, exit);
    this.incoming.delete(translation.id);
    translation.chained.forEach((target, exit) => {
      if (target === undefined) return;
      const list = this.incoming.get(target);
      if (list !== undefined) this.incoming.set(target, list.filter((entry) => entry.from !== translation));
      this.unchain(translation, exit);
    });
    this.counters.invalidations++;
  }

  /** Every fragment occupying TC space (live or invalidated), in address order. */
  fragments(): readonly Translation[] {
    return this.all;
  }

  /** Changes whenever a fragment is installed, invalidated or the TC flushed (a cheap staleness check). */
  get generation(): number {
    return this.counters.translations + this.counters.invalidations + this.counters.flushes;
  }

  /** Live fragments whose guest instructions include one starting at `linear`. */
  containing(linear: number): Translation[] {
    const out: Translation[] = [];
    for (const t of this.all) if (t.invalidated === undefined && t.plan.instructions.some((i) => i.guestAddress === linear)) out.push(t);
    return out;
  }

  /** Guest pages holding live fragments (the engine keeps them marked so writes to them are reported). */
  livePages(): IterableIterator<number> {
    return this.byPage.keys();
  }

  hasLiveTranslations(page: number): boolean {
    return (this.byPage.get(page)?.size ?? 0) > 0;
  }

  /** A write hit guest page `page`: invalidates the fragments whose source bytes changed; returns them. */
  checkWrite(page: number, why: string): Translation[] {
    const set = this.byPage.get(page);
    if (set === undefined) return [];
    this.counters.writeChecks++;
    const stale: Translation[] = [];
    for (const t of set) {
      for (let i = 0; i < t.source.length; i++) {
        if (this.ram[t.sourceAddresses[i]!] !== t.source[i]) {
          stale.push(t);
          break;
        }
      }
    }
    for (const t of stale) this.invalidate(t, why);
    if (set.size === 0) this.byPage.delete(page);
    return stale;
  }

  /** Forgets every fragment and reclaims the whole TC. */
  flush(why: string): void {
    for (const t of this.all) if (t.invalidated === undefined) t.invalidated = why;
    for (let page = this.base >>> 12; page < (this.next + 0xfff) >>> 12; page++) this.invalidateCpuPage(page);
    this.all = [];
    this.byKey.clear();
    this.byId.clear();
    this.sites.clear();
    this.byPage.clear();
    this.incoming.clear();
    this.next = this.base;
    this.counters.flushes++;
  }

  /** Inspection data: each fragment with its guest and TC ranges, original and emitted instructions side by side. */
  info(): TranslationCacheInfo {
    return { capacityBytes: this.size, usedBytes: this.usedBytes, translations: this.all.map((t) => this.describe(t)), counters: { ...this.counters } };
  }

  describe(t: Translation): TranslationInfo {
    const plan = t.plan;
    const instructions = plan.instructions.map((instruction, index) => {
      const translated: string[] = [];
      plan.boundaryOffsets.forEach((offset, b) => {
        if (plan.boundaryInstructions[b] !== index) return;
        translated.push(this.emittedText(t, offset));
      });
      return { guestAddress: instruction.guestAddress, original: instruction.text, translated, rewrite: instruction.rewrite, why: instruction.why };
    });
    const base = { id: t.id, guestStart: plan.guestStart, guestEnd: plan.guestEnd, tcStart: t.tcStart, tcEnd: t.tcEnd, instructions, chainedTo: [...t.chained], hits: t.hits };
    return t.invalidated === undefined ? base : { ...base, invalidated: t.invalidated };
  }

  private emittedText(t: Translation, offset: number): string {
    const address = t.tcStart + offset;
    const text = disassembleOne(this.ram.subarray(address, Math.min(address + 15, t.tcEnd)), 0, address, { bits: 32 }).text.replace(/,/g, ', ');
    const exit = t.plan.exits.findIndex((e) => e.offset === offset);
    const loop = t.plan.exits.findIndex((e) => e.internalBranch === offset + 2);
    if (loop >= 0) return `${text} ; ${t.chained[loop] === undefined ? 'loop unchained: to its exit slot' : 'loop chained to this fragment\'s start'}`;
    if (exit >= 0) {
      const target = t.chained[exit];
      const guest = `0x${t.plan.exits[exit]!.targetEip.toString(16)}`;
      return target === undefined ? `${text} ; exit to ${guest}: callout until chained` : `${text} ; exit to ${guest}: chained to #${target}`;
    }
    const callout = t.plan.callouts.find((c) => c.kind !== 'exit' && c.returnOffset === offset + 2);
    return callout === undefined ? text : `${text} ; callout (${callout.kind})`;
  }

  toJSON(): TranslationCacheState {
    return {
      next: this.next,
      nextId: this.nextId,
      modes: [...this.modes],
      counters: { ...this.counters },
      translations: this.all.map((t) => ({ ...t, chained: [...t.chained], plan: { ...t.plan, code: Array.from(t.plan.code) } })),
    };
  }

  /** Restores the index (the fragments' bytes come back with RAM). */
  loadJSON(state: TranslationCacheState): void {
    this.all = [];
    this.byKey.clear();
    this.byId.clear();
    this.sites.clear();
    this.byPage.clear();
    this.incoming.clear();
    this.next = state.next;
    this.nextId = state.nextId;
    this.modes = [...state.modes];
    for (const name of COUNTER_NAMES) this.counters[name] = state.counters[name] ?? 0;
    for (const saved of state.translations) {
      const translation: Translation = { ...saved, chained: [...saved.chained], plan: { ...saved.plan, code: Uint8Array.from(saved.plan.code) } };
      this.index(translation);
    }
    for (const t of this.all) {
      t.chained.forEach((target, exit) => {
        if (target === undefined) return;
        let list = this.incoming.get(target);
        if (list === undefined) this.incoming.set(target, (list = []));
        list.push({ from: t, exit });
      });
    }
    for (let page = this.base >>> 12; page < (this.base + this.size) >>> 12; page++) this.invalidateCpuPage(page);
  }
}
