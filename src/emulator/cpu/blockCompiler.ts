// Block compiler: turns a hot decoded block into one JavaScript function (via `new Function`), so the
// engine optimises the whole straight-line run instead of dispatching through a megamorphic handler call
// per instruction. Simple register forms (32-bit ALU reg/reg and reg/imm, INC/DEC, MOV, LEA, Jcc/JMP rel)
// are emitted inline with exactly the handler's semantics (same lazy-flag slots); every other instruction
// calls its own handler from a call site that is monomorphic. Anything that may fault first records
// insnStart/EIP as the interpreter does, so faults, budgets and self-modifying code behave identically.
// If the host forbids code generation (a strict CSP), compilation is disabled and the interpreter runs.

import { INSTRUCTION_FORMS } from '../isa/table';
import type { Cpu } from './cpu';
import { emitPeekStack32, emitPop32, emitPush32, emitRead32, emitWrite32, FAST_VIEW_BINDINGS } from './compiledMemory';
import { handlerFor } from './dispatch';
import type { Block, Insn } from './insn';
import { getCF, getZF, setLazyPartial, testCondition } from './lazyFlags';
import {
  ARITH_FLAGS, EFLAGS, EIP, Flag, MODE, LAZY_BITS, LAZY_KIND, LAZY_MASK, LAZY_OP1, LAZY_OP2, LAZY_RESULT, SEG_LIMIT, Seg,
} from './stateLayout';

/**
 * A compiled block: runs the block (and, for a block that jumps back to its own start, further iterations
 * while at least `max` instructions remain and no event is pending); returns how many completed.
 * `cpu.compiledDone` holds the count completed before the current iteration (for faults).
 */
export type CompiledBlock = (cpu: Cpu, s: Int32Array, max: number) => number;

const HELPERS = { testCondition, getZF, getCF, setLazyPartial };

/** Flags a shift leaves materialised (shifts.ts: CF and OF computed, AF = 0 as QEMU). */
const SHIFT_KEPT = Flag.CF | Flag.OF | Flag.AF;

let compilerAvailable = true;

/** ALU op numbers whose result is written and whose lazy kind is fixed (ADC/SBB need CF: handler). */
const INLINE_ALU: Record<number, { kind: number; expr: string; write: boolean } | undefined> = {
  0: { kind: 1, expr: '(a + b) | 0', write: true },
  1: { kind: 5, expr: 'a | b', write: true },
  4: { kind: 5, expr: 'a & b', write: true },
  5: { kind: 3, expr: '(a - b) | 0', write: true },
  6: { kind: 5, expr: 'a ^ b', write: true },
  7: { kind: 3, expr: '(a - b) | 0', write: false },
};

/**
 * Compile-time knowledge of the lazy flags: `kind` < 0 means the state slots are authoritative; otherwise
 * the last flag-setting instruction's operands sit in the generated locals fa/fb/fr (32-bit, kind `kind`,
 * pending flags `mask`), and are stored to the slots ("flushed") only where something may observe them:
 * before a handler call, a possible fault, or a return. A loop that only adds, compares and branches never
 * touches the lazy-flag slots until it exits.
 */
interface FlagState {
  kind: number;
  mask: number;
}

const SLOTS_AUTHORITATIVE: FlagState = { kind: -1, mask: 0 };

function flushCode(state: FlagState): string {
  if (state.kind < 0) return '';
  return `s[${LAZY_KIND}] = ${state.kind}; s[${LAZY_OP1}] = fa; s[${LAZY_OP2}] = fb; s[${LAZY_RESULT}] = fr; ` +
    `s[${LAZY_BITS}] = 32; s[${LAZY_MASK}] = ${state.mask};`;
}

/** CF as a 0/1 expression from the known state. */
function carryExpression(state: FlagState): string {
  if ((state.mask & Flag.CF) === 0) return `(s[${EFLAGS}] & 1)`;
  if (state.kind === 1) return '((fr >>> 0) < (fa >>> 0) ? 1 : 0)';
  if (state.kind === 3) return '((fa >>> 0) < (fb >>> 0) ? 1 : 0)';
  return '0';
}

/** A condition (tttn) evaluated from the known state, or undefined when it needs the helpers (PF). */
function conditionExpression(state: FlagState, cc: number): string | undefined {
  const cf = `(${carryExpression(state)} !== 0)`;
  const zf = '(fr === 0)';
  const sf = '(fr < 0)';
  const of = state.kind === 1 ? '(((fa ^ fr) & (fb ^ fr)) < 0)' : state.kind === 3 ? '(((fa ^ fb) & (fa ^ fr)) < 0)' : 'false';
  let base: string;
  switch (cc >> 1) {
    case 0: base = of; break;
    case 1: base = cf; break;
    case 2: base = zf; break;
    case 3: base = `(${cf} || ${zf})`; break;
    case 4: base = sf; break;
    case 5: return undefined;
    case 6: base = `(${sf} !== ${of})`; break;
    default: base = `(${zf} || ${sf} !== ${of})`; break;
  }
  return (cc & 1) === 0 ? base : `!${base}`;
}

interface Emitted {
  code: string;
  state: FlagState;
}

/** Inline JavaScript for an instruction, or undefined to call its handler. `next` is EIP after it. */
function inline(insn: Insn, next: string, state: FlagState): Emitted | undefined {
  const op = insn.opcode;
  const reg32 = insn.mod === 3 && insn.osize === 4;
  const alu = (dst: number, srcExpr: string, opNumber: number): Emitted | undefined => {
    const a = INLINE_ALU[opNumber];
    if (a === undefined) return undefined;
    return {
      code: `fa = s[${dst}]; fb = ${srcExpr}; { const a = fa, b = fb; fr = ${a.expr}; }${a.write ? ` s[${dst}] = fr;` : ''}`,
      state: { kind: a.kind, mask: ARITH_FLAGS },
    };
  };
  if (op < 0x40 && (op & 7) < 4 && (op & 1) === 1 && reg32) { // ALU Ev,Gv / Gv,Ev, 32-bit registers
    const toRm = (op & 2) === 0;
    return alu(toRm ? insn.rm : insn.reg, `s[${toRm ? insn.reg : insn.rm}]`, (op >> 3) & 7);
  }
  if ((op === 0x81 || op === 0x83) && reg32) return alu(insn.rm, `${insn.imm | 0}`, insn.reg);
  if (op < 0x40 && (op & 7) === 5 && insn.osize === 4) return alu(0, `${insn.imm | 0}`, (op >> 3) & 7); // op EAX, imm32
  if (op === 0xa9 && insn.osize === 4) {
    return { code: `fa = s[0]; fb = ${insn.imm | 0}; fr = fa & fb;`, state: { kind: 5, mask: ARITH_FLAGS } };
  }
  if (op === 0x85 && reg32) {
    return { code: `fa = s[${insn.rm}]; fb = s[${insn.reg}]; fr = fa & fb;`, state: { kind: 5, mask: ARITH_FLAGS } };
  }
  if (op >= 0x40 && op <= 0x4f && insn.osize === 4) { // INC/DEC: CF is kept (materialised into EFLAGS)
    const n = op & 7;
    const dec = op >= 0x48;
    const keepCarry = state.kind < 0
      ? `if ((s[${LAZY_MASK}] & 1) !== 0) s[${EFLAGS}] = (s[${EFLAGS}] & ~1) | h.getCF(s);`
      : (state.mask & Flag.CF) !== 0 ? `s[${EFLAGS}] = (s[${EFLAGS}] & ~1) | ${carryExpression(state)};` : '';
    return {
      code: `${keepCarry} fa = s[${n}]; fb = 1; fr = (fa ${dec ? '-' : '+'} 1) | 0; s[${n}] = fr;`,
      state: { kind: dec ? 3 : 1, mask: ARITH_FLAGS & ~Flag.CF },
    };
  }
  if ((op === 0x89 || op === 0x8b) && reg32) {
    return { code: op === 0x89 ? `s[${insn.rm}] = s[${insn.reg}];` : `s[${insn.reg}] = s[${insn.rm}];`, state };
  }
  if (op >= 0xb8 && op <= 0xbf && insn.osize === 4) return { code: `s[${op & 7}] = ${insn.imm | 0};`, state };
  if (op === 0x8d && insn.mod !== 3 && insn.osize === 4 && insn.asize === 4) {
    let expr = `${insn.disp | 0}`;
    if (insn.base >= 0) expr += ` + s[${insn.base}]`;
    if (insn.index >= 0) expr += ` + (s[${insn.index}] << ${insn.scale})`;
    return { code: `s[${insn.reg}] = (${expr}) | 0;`, state };
  }
  const relative = (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) || op === 0xeb || op === 0xe9;
  if (relative && insn.osize === 4) {
    const target = `((${next}) + ${insn.imm | 0}) | 0`;
    const jump = `{ const t = ${target}; if ((t >>> 0) > (s[${SEG_LIMIT + Seg.CS}] >>> 0)) { ${flushCode(state)} ` +
      `cpu.insnStart = ${next} - ${insn.length}; s[${EIP}] = ${next}; cpu.jump(t); } s[${EIP}] = t; }`;
    if (op === 0xeb || op === 0xe9) return { code: jump, state };
    const cc = op & 15;
    if (state.kind >= 0) {
      const known = conditionExpression(state, cc);
      if (known !== undefined) return { code: `if (${known}) ${jump} else s[${EIP}] = ${next};`, state };
      return { code: `${flushCode(state)} if (h.testCondition(s, ${cc})) ${jump} else s[${EIP}] = ${next};`, state: SLOTS_AUTHORITATIVE };
    }
    const condition = cc === 4 ? 'h.getZF(s)' : cc === 5 ? '!h.getZF(s)' : `h.testCondition(s, ${cc})`;
    return { code: `if (${condition}) ${jump} else s[${EIP}] = ${next};`, state };
  }
  return undefined;
}

/** Effective-address expression for a 32-bit-address memory operand (same as exec/operands.ts `ea`). */
function eaExpression(insn: Insn): string {
  let expr = `${insn.disp | 0}`;
  if (insn.base >= 0) expr += ` + s[${insn.base}]`;
  if (insn.index >= 0) expr += ` + (s[${insn.index}] << ${insn.scale})`;
  return `((${expr}) | 0)`;
}

/**
 * Memory and stack moves called straight on the CPU (no handler/operand-decoding layers). They may fault
 * or invalidate code, so the caller records insnStart/EIP and flushes flags first, and checks blockBreak.
 */
function memoryMove(insn: Insn): string | undefined {
  const op = insn.opcode;
  if (insn.osize !== 4) return undefined;
  if (op >= 0x50 && op <= 0x57) return emitPush32(`s[${op & 7}]`);
  if (op >= 0x58 && op <= 0x5f) return emitPop32(`s[${op & 7}]`);
  if (insn.mod === 3 || insn.asize !== 4) return undefined;
  if (op === 0x8b) return emitRead32(insn.seg, eaExpression(insn), `s[${insn.reg}]`);
  if (op === 0x89) return emitWrite32(insn.seg, eaExpression(insn), `s[${insn.reg}]`);
  if (op === 0xc7 && insn.reg === 0) return emitWrite32(insn.seg, eaExpression(insn), `${insn.imm | 0}`);
  return undefined;
}

/**
 * 32-bit ALU forms with a memory operand (op r32,[m]; op [m],r32; op [m],imm; CMP/TEST-like reads): the
 * memory access calls the CPU directly, the arithmetic is inline and its flags go to the locals. Emitted
 * after a flush, so a fault in the access leaves the previous flags in the slots (the instruction did not
 * complete). ADC/SBB still use their handler.
 */
function memoryAlu(insn: Insn): Emitted | undefined {
  const op = insn.opcode;
  if (insn.mod === 3 || insn.osize !== 4 || insn.asize !== 4) return undefined;
  let aluOp: number;
  let toMemory: boolean;
  let source: string;
  if (op < 0x40 && (op & 7) < 4 && (op & 1) === 1) {
    aluOp = (op >> 3) & 7;
    toMemory = (op & 2) === 0;
    source = `s[${insn.reg}]`;
  } else if (op === 0x81 || op === 0x83) {
    aluOp = insn.reg;
    toMemory = true;
    source = `${insn.imm | 0}`;
  } else {
    return undefined;
  }
  const alu = INLINE_ALU[aluOp];
  if (alu === undefined) return undefined;
  const address = eaExpression(insn);
  if (!toMemory) {
    return {
      code: `{ let m = 0; ${emitRead32(insn.seg, address, 'm')} fa = s[${insn.reg}]; fb = m; { const a = fa, b = fb; fr = ${alu.expr}; }` +
        `${alu.write ? ` s[${insn.reg}] = fr;` : ''} }`,
      state: { kind: alu.kind, mask: ARITH_FLAGS },
    };
  }
  return {
    code: `{ const at = ${address}; const m = cpu.read32(${insn.seg}, at); const a = m, b = ${source}; const r = ${alu.expr};` +
      `${alu.write ? ` cpu.write32(${insn.seg}, at, r);` : ''} fa = a; fb = b; fr = r; }`,
    state: { kind: alu.kind, mask: ARITH_FLAGS },
  };
}

/**
 * Instructions that write the lazy-flag slots themselves or may fault, emitted after a flush (the slots are
 * authoritative before and after): ADC/SBB on 32-bit registers (CF in, same lazy kinds as alu.ts), SHL/SHR/
 * SAR r32 by an immediate (same flags as shifts.ts), near CALL rel32 and RET/RET imm16 with a 32-bit operand
 * (same order of checks as control.ts: the CS limit is checked before the stack is touched). Stack accesses
 * go through cpu.push/peekStack, whose fast path is a TLB hit on a RAM page.
 */
function slotOperation(insn: Insn, next: string): string | undefined {
  const op = insn.opcode;
  if (insn.osize !== 4) return undefined;
  const reg32 = insn.mod === 3;
  const limit = `(s[${SEG_LIMIT + Seg.CS}] >>> 0)`;
  if (op === 0xe8) {
    return `{ const t = ((${next}) + ${insn.imm | 0}) | 0; if ((t >>> 0) > ${limit}) cpu.jump(t); ${emitPush32(`${next}`)} s[${EIP}] = t; }`;
  }
  if (op === 0xc3 || op === 0xc2) {
    const release = 4 + (op === 0xc2 ? insn.imm : 0);
    return `{ let t = 0; ${emitPeekStack32('t')} if ((t >>> 0) > ${limit}) cpu.jump(t); ` +
      `cpu.setStackPointer(cpu.stackPointer() + ${release}); s[${EIP}] = t; }`;
  }
  let aluOp = -1;
  let dst = 0;
  let source = '';
  if ((op === 0x81 || op === 0x83) && reg32) { aluOp = insn.reg; dst = insn.rm; source = `${insn.imm | 0}`; }
  if (op === 0x15 || op === 0x1d) { aluOp = (op >> 3) & 7; dst = 0; source = `${insn.imm | 0}`; }
  if ((op === 0x11 || op === 0x19) && reg32) { aluOp = (op >> 3) & 7; dst = insn.rm; source = `s[${insn.reg}]`; }
  if ((op === 0x13 || op === 0x1b) && reg32) { aluOp = (op >> 3) & 7; dst = insn.reg; source = `s[${insn.rm}]`; }
  if (aluOp === 2 || aluOp === 3) {
    const adc = aluOp === 2;
    return `{ const c = h.getCF(s), a = s[${dst}], b = ${source}; const r = (a ${adc ? '+' : '-'} b ${adc ? '+' : '-'} c) | 0; s[${dst}] = r; ` +
      `s[${LAZY_KIND}] = c !== 0 ? ${adc ? 2 : 4} : ${adc ? 1 : 3}; s[${LAZY_OP1}] = a; s[${LAZY_OP2}] = b; s[${LAZY_RESULT}] = r; ` +
      `s[${LAZY_BITS}] = 32; s[${LAZY_MASK}] = ${ARITH_FLAGS}; }`;
  }
  const count = op === 0xc1 ? insn.imm & 31 : op === 0xd1 ? 1 : 0;
  if (count !== 0 && reg32 && (insn.reg === 4 || insn.reg === 5 || insn.reg === 6 || insn.reg === 7)) {
    const v = `s[${insn.rm}]`;
    let compute: string;
    if (insn.reg === 5) { // SHR
      compute = `const before = ${v} >>> ${count - 1}; const r = ${v} >>> ${count}; const f = (before & 1) | ((((before ^ r) >>> 31) & 1) !== 0 ? ${Flag.OF} : 0);`;
    } else if (insn.reg === 7) { // SAR
      compute = `const before = ${v} >> ${count - 1}; const r = ${v} >> ${count}; const f = (before & 1) | ((((before ^ r) >>> 31) & 1) !== 0 ? ${Flag.OF} : 0);`;
    } else { // SHL/SAL
      compute = `const before = ${v} << ${count - 1}; const r = ${v} << ${count}; const cf = (before >>> 31) & 1; ` +
        `const f = cf | ((((r >>> 31) & 1) ^ cf) !== 0 ? ${Flag.OF} : 0);`;
    }
    return `{ ${compute} h.setLazyPartial(s, 6, 0, 0, r | 0, 32, ${SHIFT_KEPT}, f); s[${insn.rm}] = r; }`;
  }
  return undefined;
}

/** One pass over the block starting from flag state `start`. */
function emitBody(insns: readonly Insn[], start: FlagState, doneExpression: string): Emitted {
  const lines: string[] = [];
  let state = start;
  for (let k = 0; k < insns.length; k++) {
    const insn = insns[k]!;
    const begin = `(base + ${insn.offset}) | 0`;
    const next = `(base + ${insn.offset + insn.length}) | 0`;
    // Only instructions that run their standard handler may be inlined: a handler replaced at decode time
    // (e.g. by VMX non-root operation, which may turn an instruction into a VM exit) is always called.
    const standard = insn.formIndex >= 0 && insn.handler === handlerFor(INSTRUCTION_FORMS[insn.formIndex]!, insn);
    const emitted = standard ? inline(insn, next, state) : undefined;
    if (emitted !== undefined) {
      lines.push(emitted.code);
      state = emitted.state;
      if (k === insns.length - 1 && !emitted.code.includes(`s[${EIP}] =`)) lines.push(`s[${EIP}] = ${next};`);
      continue;
    }
    const memoryOperation = standard ? memoryAlu(insn) : undefined;
    if (memoryOperation !== undefined) {
      lines.push(`${flushCode(state)} cpu.insnStart = ${begin}; s[${EIP}] = ${next}; ${memoryOperation.code}`);
      state = memoryOperation.state;
      lines.push(`if (cpu.blockBreak) { ${flushCode(state)} return ${doneExpression} + ${k + 1}; }`);
      continue;
    }
    const move = standard ? memoryMove(insn) : undefined;
    if (move !== undefined) {
      // A move changes no flags: after the flush the slots and the locals agree, so the state is kept.
      lines.push(`${flushCode(state)} cpu.insnStart = ${begin}; s[${EIP}] = ${next}; ${move}`);
      lines.push(`if (cpu.blockBreak) return ${doneExpression} + ${k + 1};`);
      continue;
    }
    const slots = standard ? slotOperation(insn, next) : undefined;
    if (slots !== undefined) {
      lines.push(`${flushCode(state)} cpu.insnStart = ${begin}; s[${EIP}] = ${next}; ${slots}`);
      lines.push(`if (cpu.blockBreak) return ${doneExpression} + ${k + 1};`);
      state = SLOTS_AUTHORITATIVE;
      continue;
    }
    lines.push(`${flushCode(state)} cpu.insnStart = ${begin}; s[${EIP}] = ${next}; i${k}.handler(cpu, i${k});`);
    lines.push(`if (cpu.blockBreak) return ${doneExpression} + ${k + 1};`);
    state = SLOTS_AUTHORITATIVE;
  }
  return { code: lines.join('\n'), state };
}

function sameState(a: FlagState, b: FlagState): boolean {
  return a.kind === b.kind && a.mask === b.mask;
}

/** Compile `block` (entered at any EIP: code is position independent through `base`). */
export function compileBlock(block: Block): CompiledBlock | null {
  if (!compilerAvailable) return null;
  const insns = block.insns;
  const count = insns.length;
  const last = insns[count - 1]!.opcode;
  const mayLoop = (last >= 0x70 && last <= 0x7f) || (last >= 0x180 && last <= 0x18f) || last === 0xeb || last === 0xe9;
  // Pending events end the loop: a stop request, a mode bit (halt/shadow/shutdown), or INTR with IF = 1.
  const events = `cpu.stopRequest !== null || s[${MODE}] !== 0 || ((s[${EFLAGS}] & ${Flag.IF}) !== 0 && cpu.interrupts.pending())`;
  const first = emitBody(insns, SLOTS_AUTHORITATIVE, '0');
  let body: string;
  if (!mayLoop) {
    body = `cpu.compiledDone = 0;\n${first.code}\n${flushCode(first.state)}\nreturn ${count};`;
  } else {
    // The loop body is compiled from the state the first pass ends in; if a second pass ends in the same
    // state the flags can stay in locals across iterations, otherwise they are flushed at the back edge.
    let loopStart = first.state;
    let loop = emitBody(insns, loopStart, 'done');
    let backEdgeFlush = '';
    if (!sameState(loop.state, loopStart)) {
      loopStart = SLOTS_AUTHORITATIVE;
      backEdgeFlush = flushCode(first.state);
      loop = emitBody(insns, loopStart, 'done');
    }
    body = `cpu.compiledDone = 0;\n${first.code}\ndone = ${count};\n` +
      `if (s[${EIP}] !== base || done + ${count} > max || ${events}) { ${flushCode(first.state)} return done; }\n` +
      `${backEdgeFlush}\nfor (;;) {\ncpu.compiledDone = done;\n${loop.code}\ndone += ${count};\n` +
      `if (s[${EIP}] !== base || done + ${count} > max || ${events}) { ${flushCode(loop.state)} return done; }\n` +
      `${loopStart.kind < 0 ? flushCode(loop.state) : ''}\n}`;
  }
  const prologue = insns.map((_, k) => `const i${k} = insns[${k}];`).join('\n');
  const source = `${prologue}\nreturn function compiledBlock(cpu, s, max) {\nconst base = s[${EIP}];\n${FAST_VIEW_BINDINGS}\n` +
    `let done = 0, fa = 0, fb = 0, fr = 0;\n${body}\n};`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the block compiler's whole purpose
    const factory = new Function('h', 'insns', source) as (h: typeof HELPERS, insns: Insn[]) => CompiledBlock;
    return factory(HELPERS, insns);
  } catch {
    compilerAvailable = false; // code generation refused by the host: interpret from now on
    return null;
  }
}

/** Index of the instruction at `offset` within the block (for retiring after a fault mid-block). */
export function instructionIndexAt(block: Block, offset: number): number {
  const insns = block.insns;
  for (let k = 0; k < insns.length; k++) if (insns[k]!.offset === offset) return k;
  return 0;
}
