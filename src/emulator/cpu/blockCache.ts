// Decoded-code cache: straight-line blocks of decoded instructions keyed by the physical address of their
// first byte (plus the code-segment size), registered per physical page so a write to that page drops
// every block decoded from it (self-modifying code works; Mmu.codePages marks the pages). A block ends
// at a table block boundary, a page end, or MAX_BLOCK instructions.

import type { Cpu } from './cpu';
import { decodeInto } from './decoder';
import { handlerFor, undefinedOpcode } from './dispatch';
import { INSTRUCTION_FORMS } from '../isa/table';
import { Block, Insn } from './insn';
import { CPL, SEG_BASE, SEG_LIMIT, SEG_RIGHTS, Seg, SegmentRight } from './stateLayout';
import { Vector } from './faults';

const MAX_BLOCK = 64;
/** Key offset for blocks decoded as 16-bit code (physical addresses are < 2^32). */
const CODE16_KEY = 4294967296;

export class BlockCache {
  private readonly byKey = new Map<number, Block>();
  private readonly byPage = new Map<number, Block[]>();

  constructor(private readonly cpu: Cpu) {}

  clear(): void {
    this.cpu.codeGeneration++;
    // A map shared with other CPUs keeps its marks: their blocks may still come from these pages (a stale mark
    // only costs one spurious invalidation later).
    if (!this.cpu.mmu.codePagesShared) for (const page of this.byPage.keys()) this.cpu.mmu.codePages[page] = 0;
    this.byKey.clear();
    this.byPage.clear();
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The block at EIP (translating CS:EIP; may #PF or #GP on the fetch). */
  lookup(eip: number): Block {
    const cpu = this.cpu;
    const s = cpu.s;
    if (eip >>> 0 > s[SEG_LIMIT + Seg.CS]! >>> 0) cpu.raise(Vector.GP, 0);
    const linear = (s[SEG_BASE + Seg.CS]! + eip) | 0;
    const physical = cpu.mmu.translateFetch(linear, s[CPL] === 3);
    const key = (s[SEG_RIGHTS + Seg.CS]! & SegmentRight.Big) !== 0 ? physical : physical + CODE16_KEY;
    const block = this.byKey.get(key);
    if (block !== undefined) return block;
    return this.build(linear, physical, key);
  }

  private build(linear: number, physical: number, key: number): Block {
    const cpu = this.cpu;
    const insns: Insn[] = [];
    const pages = [physical >>> 12];
    const firstPage = linear >>> 12;
    let at = linear;
    let offset = 0;
    let followed = false;
    while (insns.length < MAX_BLOCK) {
      const insn = new Insn(undefinedOpcode);
      let last: number;
      try {
        last = decodeInto(cpu, at, insn);
      } catch (e) {
        if (insns.length === 0) throw e; // the first instruction's fetch fault is the guest's fault
        break; // a later fetch fault: end the block before it; it faults when reached
      }
      if ((last >>> 12) !== firstPage) {
        // An instruction straddling into the next linear page depends on that page's mapping too, which
        // the physical key does not capture: end the block before it, or (when it comes first) run it
        // from a block that is never cached, so a remapped second page is always seen.
        if (insns.length > 0) break;
        insn.offset = 0;
        return new Block([insn], pages, -1);
      }
      // After a followed transfer, straight-line code may run into an instruction the block already holds:
      // end before it (offsets identify instructions when a fault is accounted mid-block).
      if (followed && insns.some((earlier) => earlier.offset === offset)) break;
      insn.offset = offset;
      insns.push(insn);
      offset += insn.length;
      at = (at + insn.length) | 0;
      const target = key < CODE16_KEY ? this.followedTarget(insn, at, firstPage, linear, insns) : -1;
      if (target !== -1) {
        // A direct near CALL/JMP into the same linear page: the block goes on at its target (offsets stay
        // linear distances from the block start, so the code remains position independent through EIP).
        offset = (target - linear) | 0;
        at = target;
        followed = true;
        continue;
      }
      if (insn.endsBlock || (at >>> 12) !== firstPage) break;
    }
    const block = new Block(insns, pages, key);
    this.byKey.set(key, block);
    for (const page of pages) {
      let list = this.byPage.get(page);
      if (list === undefined) {
        list = [];
        this.byPage.set(page, list);
      }
      list.push(block);
      if (page < cpu.mmu.codePages.length) cpu.mmu.codePages[page] = 1;
    }
    return block;
  }

  /**
   * The linear target of a direct near CALL rel32 / JMP rel that the block may follow: 32-bit code, the
   * standard handler (not one replaced for VMX non-root), a target in the block's first linear page (so the
   * same physical page) that is not already part of the block. -1 otherwise. The CS limit is still checked
   * when the transfer executes (interpreted or compiled), so a fault stays precise.
   */
  private followedTarget(insn: Insn, next: number, firstPage: number, start: number, insns: readonly Insn[]): number {
    const op = insn.opcode;
    if (insn.osize !== 4 || (op !== 0xe8 && op !== 0xe9 && op !== 0xeb) || insn.formIndex < 0) return -1;
    if (insn.handler !== handlerFor(INSTRUCTION_FORMS[insn.formIndex]!, insn)) return -1;
    const target = (next + insn.imm) | 0;
    if ((target >>> 12) !== firstPage) return -1;
    const offset = (target - start) | 0;
    for (const earlier of insns) if (earlier.offset === offset) return -1;
    return target;
  }

  /** A write hit `page`: forget every block decoded from it. */
  invalidatePage(page: number): void {
    const list = this.byPage.get(page);
    this.cpu.mmu.codePages[page] = 0;
    if (list === undefined) return;
    this.byPage.delete(page);
    for (const block of list) {
      block.valid = false;
      if (this.byKey.get(block.key) === block) this.byKey.delete(block.key);
    }
  }
}
