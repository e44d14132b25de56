// The translator proper: decodes one translation unit of guest kernel code (a basic block of at most 12
// instructions, ending at the first control transfer or callout; Adams & Agesen §3.1) and emits its compiled
// code fragment as ordinary IA-32 bytes for the translation cache. The emitted code is position independent:
// IDENT bytes have no PC-relative operands, exits are 5-byte slots (first a callout `int 0xbc`, later patched to
// `jmp rel32` when chained), and conditional branches jump to slots inside the fragment. Every emitted
// instruction start is a boundary that maps back to the guest EIP at that point, so faults and interrupts taken
// inside translated code are precise for the guest. Encodings: SDM Vol. 2 (JMP E9 cd, Jcc 0F 80+cc cd,
// PUSH 68 id, MOV B8+r id, MOV C7 /0, INT CD ib).

import { disassembleOne } from '../../disasm/disassembler';
import { DecodedInstruction, MAX_INSTRUCTION_LENGTH } from '../../isa/decoder';
import { INSTRUCTION_FORMS } from '../../isa/table';
import { CALLOUT_VECTOR, MAX_UNIT_INSTRUCTIONS } from './layout';
import { classify, prefixLength, type CalloutKind } from './classify';
import { INLINE_TPR, inlineStoreLength, inlineTprSequence } from './apicAccess';

export type RewriteKind = 'ident' | 'inline' | 'callout';

/** One guest instruction of a unit and what was emitted for it. */
export interface PlannedInstruction {
  readonly guestAddress: number;
  readonly eip: number;
  readonly bytes: readonly number[];
  readonly text: string;
  readonly rewrite: RewriteKind;
  readonly why: string;
}

/** A callout site: the `int 0xbc` of an exit slot or of a rewritten instruction. */
export interface PlannedCallout {
  /** Offset in the fragment just after the `int` (what EIP holds when the VMM intercepts it). */
  readonly returnOffset: number;
  readonly kind: CalloutKind;
  /** exit: the branch target (guest EIP); otherwise the guest EIP of the instruction. */
  readonly guestEip: number;
  /** Index into the unit's instructions (exits: the branch that owns the slot). */
  readonly instruction: number;
  /** exit: index into the unit's exits. */
  readonly exit?: number;
}

export interface PlannedExit {
  readonly offset: number;
  readonly targetEip: number;
  readonly internalBranch?: number;
}

export interface UnitPlan {
  readonly startEip: number;
  readonly guestStart: number;
  readonly guestEnd: number;
  readonly code: Uint8Array;
  readonly instructions: readonly PlannedInstruction[];
  /** Parallel arrays: fragment offset of each emitted instruction → guest EIP there, and its guest instruction. */
  readonly boundaryOffsets: readonly number[];
  readonly boundaryEips: readonly number[];
  readonly boundaryInstructions: readonly number[];
  /**
   * Exit slots: fragment offset of the 5-byte slot and its guest target EIP. `internalBranch`: the offset of the
   * rel32 of a branch to the fragment's own start that makes this exit chained from the beginning.
   */
  readonly exits: readonly PlannedExit[];
  readonly callouts: readonly PlannedCallout[];
  /** Inline virtual-TPR sequences (apicAccess.ts): fragment offset, length, guest EIP after the store. */
  readonly inlineTpr?: readonly InlineTprSite[];
}

export interface InlineTprSite {
  readonly start: number;
  readonly length: number;
  readonly nextEip: number;
}

export interface GuestCode {
  /** Copies guest code bytes at a linear address into `out`; returns how many could be read. */
  read(linear: number, out: Uint8Array): number;
}

export interface UnitOptions {
  readonly csBase: number;
  readonly csLimit: number;
  /** The CS selector the guest believes it runs with (RPL 0 for the virtual kernel). */
  readonly guestCs: number;
  /** Guest linear addresses that adaptive BT turned into callouts. */
  readonly adaptive: ReadonlySet<number>;
  /** Guest linear addresses of stores that kept taking shadow-paging tracing faults (adaptive `pte-write` callouts). */
  readonly pageTableWriters?: ReadonlySet<number>;
  /** Guest linear addresses of TPR stores that kept faulting on the APIC page (inline virtual-TPR updates; flat mode only). */
  readonly tprWriters?: ReadonlySet<number>;
}

const scratch = new DecodedInstruction();
const codeWindow = new Uint8Array(MAX_INSTRUCTION_LENGTH);
const SLOT = [0xcd, CALLOUT_VECTOR, 0x90, 0x90, 0x90];

const le32 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
const le16 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff];

/** Translates the unit starting at guest EIP `startEip`; a string when not even its first instruction can be. */
export function translateUnit(code: GuestCode, startEip: number, options: UnitOptions): UnitPlan | string {
  const out: number[] = [];
  const instructions: PlannedInstruction[] = [];
  const boundaryOffsets: number[] = [];
  const boundaryEips: number[] = [];
  const boundaryInstructions: number[] = [];
  const exits: PlannedExit[] = [];
  const callouts: PlannedCallout[] = [];
  const inlineTpr: InlineTprSite[] = [];
  const boundary = (eip: number) => {
    boundaryOffsets.push(out.length);
    boundaryEips.push(eip >>> 0);
    boundaryInstructions.push(instructions.length - 1);
  };
  /** `at`: the guest EIP the slot stands for before it runs (a direct jmp's own address; else the target). */
  const slot = (targetEip: number, internalBranch?: number, at = targetEip) => {
    boundary(at);
    exits.push(internalBranch === undefined ? { offset: out.length, targetEip: targetEip >>> 0 } : { offset: out.length, targetEip: targetEip >>> 0, internalBranch });
    out.push(...SLOT);
    callouts.push({ returnOffset: out.length - 3, kind: 'exit', guestEip: targetEip >>> 0, instruction: instructions.length - 1, exit: exits.length - 1 });
  };
  let eip = startEip >>> 0;
  let ended = false;
  while (!ended && instructions.length < MAX_UNIT_INSTRUCTIONS) {
    const linear = (options.csBase + eip) >>> 0;
    const available = code.read(linear, codeWindow);
    const text = available === 0 ? undefined : disassembleOne(codeWindow.subarray(0, available), 0, linear, { bits: 32 }, scratch);
    const form = text === undefined || scratch.fault !== 0 ? undefined : INSTRUCTION_FORMS[text.formIndex];
    const length = scratch.length;
    if (form === undefined || text === undefined || eip + length - 1 > options.csLimit >>> 0) {
      if (instructions.length === 0) return `cannot translate the instruction at 0x${linear.toString(16)} (undecodable, unreadable or beyond the CS limit)`;
      break; // the next unit starts there and reports it (or the CPU raises the guest's fault in place)
    }
    const bytes = Array.from(codeWindow.subarray(0, length));
    const next = (eip + length) >>> 0;
    const action = classify(form, scratch, options.adaptive.has(linear), options.pageTableWriters?.has(linear) === true, options.tprWriters?.has(linear) === true);
    const plain = text.text.replace(/,/g, ', ');
    const add = (rewrite: RewriteKind, why: string) => {
      instructions.push({ guestAddress: linear, eip, bytes, text: plain, rewrite, why });
      boundary(eip);
    };
    switch (action.kind) {
      case 'ident':
        add('ident', action.why);
        out.push(...bytes);
        break;
      case 'jump':
        instructions.push({ guestAddress: linear, eip, bytes, text: plain, rewrite: 'inline', why: 'direct jump: a chainable exit to the target\'s translation' });
        slot((next + scratch.immediate) >>> 0, undefined, eip);
        ended = true;
        break;
      case 'jcc': {
        const target = (next + scratch.immediate) >>> 0;
        if (target === startEip >>> 0) {
          // A loop back to the unit's own start: chained at translation time — the jcc jumps straight to the
          // fragment's start. Its exit slot stays behind the fall-through exit; unchaining (invalidation) aims
          // the jcc's rel32 at it, so a running loop leaves a stale fragment at its next iteration.
          add('inline', 'conditional branch back to the start of this unit: jcc rel32 chained to the fragment\'s own start, then the fall-through exit');
          const jcc = out.length;
          out.push(0x0f, 0x80 | action.condition, ...le32(-(jcc + 6)));
          slot(next);
          slot(target, jcc + 2);
        } else {
          add('inline', 'conditional branch: jcc rel32 to the taken exit, then the fall-through exit; both chainable');
          out.push(0x0f, 0x80 | action.condition, ...le32(5)); // skip the fall-through slot
          slot(next);
          slot(target);
        }
        ended = true;
        break;
      }
      case 'loop': {
        add('inline', `${form.mnemonic}: rel8 kept, aimed at the taken exit past the fall-through exit; both chainable`);
        out.push(...bytes.slice(0, length - 1), 5);
        slot(next);
        slot((next + scratch.immediate) >>> 0);
        ended = true;
        break;
      }
      case 'call':
        add('inline', 'PC-relative call: push the guest return address, then a chainable exit to the target');
        out.push(0x68, ...le32(next));
        slot((next + scratch.immediate) >>> 0);
        ended = true;
        break;
      case 'read-cs':
        add('inline', `mov from cs would show the TC code segment with RPL 1; the translator substitutes the guest's selector 0x${options.guestCs.toString(16)}`);
        out.push(...readCsBytes(bytes, scratch, options.guestCs));
        break;
      case 'push-cs':
        add('inline', `push cs would show the TC code segment with RPL 1; the translator pushes the guest's selector 0x${options.guestCs.toString(16)}`);
        out.push(...(scratch.operandSize === 16 ? [0x66, 0x68, ...le16(options.guestCs)] : [0x68, ...le32(options.guestCs)]));
        break;
      case 'inline-tpr': {
        const sequence = inlineTprSequence(bytes, scratch);
        if (sequence === undefined) {
          add('ident', 'a store to the local APIC page in a form the translator does not inline: it faults and the VMM emulates it');
          out.push(...bytes);
          break;
        }
        add('inline', 'adaptive: it kept faulting on the local APIC\'s TPR, so it now updates the virtual TPR inline through the TC data segment (A&A §3 cr8wr)');
        const start = out.length;
        out.push(...sequence);
        // Inside the sequence the guest state is not yet precise: the engine rolls those points back (apicAccess.ts).
        for (const offset of [INLINE_TPR.afterPushFs, INLINE_TPR.afterPushSelector, INLINE_TPR.afterPopFs, INLINE_TPR.afterPopFs + inlineStoreLength(sequence.length)]) {
          boundaryOffsets.push(start + offset);
          boundaryEips.push(eip >>> 0);
          boundaryInstructions.push(instructions.length - 1);
        }
        inlineTpr.push({ start, length: sequence.length, nextEip: next });
        break;
      }
      case 'callout':
        add('callout', action.why);
        out.push(0xcd, CALLOUT_VECTOR);
        callouts.push({ returnOffset: out.length, kind: action.callout, guestEip: eip, instruction: instructions.length - 1 });
        ended = true;
        break;
    }
    eip = next;
  }
  if (!ended) slot(eip); // the unit is full or ends before an untranslatable instruction: fall through
  const first = instructions[0]!;
  const last = instructions[instructions.length - 1]!;
  return {
    startEip: startEip >>> 0,
    guestStart: first.guestAddress,
    guestEnd: (last.guestAddress + last.bytes.length) >>> 0,
    code: Uint8Array.from(out),
    instructions,
    boundaryOffsets,
    boundaryEips,
    boundaryInstructions,
    exits,
    callouts,
    ...(inlineTpr.length > 0 ? { inlineTpr } : {}),
  };
}

/** MOV r/m, CS → MOV r32, imm32 / MOV r16, imm16 (register) or MOV m16, imm16 (memory), same addressing. */
function readCsBytes(bytes: readonly number[], d: DecodedInstruction, selector: number): number[] {
  if (!d.isMemory) return d.operandSize === 16 ? [0x66, 0xb8 + d.rm, ...le16(selector)] : [0xb8 + d.rm, ...le32(selector)];
  const prefixes = prefixLength(bytes, bytes.length);
  const kept = bytes.slice(0, prefixes).filter((b) => b !== 0x66);
  const modrm = bytes[prefixes + 1]! & 0xc7; // reg field /0
  return [...kept, 0x66, 0xc7, modrm, ...bytes.slice(prefixes + 2), ...le16(selector)];
}
