// Block compiler: turns a hot decoded block into one JavaScript function (via `new Function`), so the
// engine optimises the whole straight-line run instead of dispatching through a megamorphic handler call
// per instruction. Simple register forms (32-bit ALU reg/reg and reg/imm, INC/DEC, MOV, LEA, Jcc/JMP rel)
// are emitted inline with exactly the handler's semantics (same lazy-flag slots); every other instruction
// calls its own handler from a call site that is monomorphic. Anything that may fault first records
// insnStart/EIP as the interpreter does, so faults, budgets and self-modifying code behave identically.
// If the host forbids code generation (a strict CSP), compilation is disabled and the interpreter runs.

import type { Cpu } from './cpu';
import type { Block, Insn } from './insn';
import { getZF, setLazyKeepCF, testCondition } from './lazyFlags';
import {
  ARITH_FLAGS, EFLAGS, EIP, Flag, MODE, LAZY_BITS, LAZY_KIND, LAZY_MASK, LAZY_OP1, LAZY_OP2, LAZY_RESULT, SEG_LIMIT, Seg,
} from './stateLayout';

/**
 * A compiled block: runs the block (and, for a block that jumps back to its own start, further iterations
 * while at least `max` instructions remain and no event is pending); returns how many completed.
 * `cpu.compiledDone` holds the count completed before the current iteration (for faults).
 */
export type CompiledBlock = (cpu: Cpu, s: Int32Array, max: number) => number;

const HELPERS = { setLazyKeepCF, testCondition, getZF };

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

function lazy(kind: number): string {
  return `s[${LAZY_KIND}] = ${kind}; s[${LAZY_OP1}] = a; s[${LAZY_OP2}] = b; s[${LAZY_RESULT}] = r; ` +
    `s[${LAZY_BITS}] = 32; s[${LAZY_MASK}] = ${ARITH_FLAGS};`;
}

/** Inline JavaScript for an instruction, or undefined to call its handler. `next` is EIP after it. */
function inline(insn: Insn, next: string): string | undefined {
  const op = insn.opcode;
  const reg32 = insn.mod === 3 && insn.osize === 4;
  if (op < 0x40 && (op & 7) < 4 && (op & 1) === 1 && reg32) { // ALU Ev,Gv / Gv,Ev, 32-bit registers
    const alu = INLINE_ALU[(op >> 3) & 7];
    if (alu === undefined) return undefined;
    const toRm = (op & 2) === 0;
    const dst = toRm ? insn.rm : insn.reg;
    const src = toRm ? insn.reg : insn.rm;
    return `{ const a = s[${dst}], b = s[${src}], r = ${alu.expr}; ${lazy(alu.kind)}${alu.write ? ` s[${dst}] = r;` : ''} }`;
  }
  if ((op === 0x81 || op === 0x83) && reg32) {
    const alu = INLINE_ALU[insn.reg];
    if (alu === undefined) return undefined;
    return `{ const a = s[${insn.rm}], b = ${insn.imm | 0}, r = ${alu.expr}; ${lazy(alu.kind)}${alu.write ? ` s[${insn.rm}] = r;` : ''} }`;
  }
  if (op === 0x85 && reg32) {
    return `{ const a = s[${insn.rm}], b = s[${insn.reg}], r = a & b; ${lazy(5)} }`;
  }
  if (op >= 0x40 && op <= 0x4f && insn.osize === 4) {
    const n = op & 7;
    const dec = op >= 0x48;
    return `{ const v = s[${n}], r = (v ${dec ? '-' : '+'} 1) | 0; s[${n}] = r; h.setLazyKeepCF(s, ${dec ? 3 : 1}, v, 1, r, 32); }`;
  }
  if ((op === 0x89 || op === 0x8b) && reg32) {
    return op === 0x89 ? `s[${insn.rm}] = s[${insn.reg}];` : `s[${insn.reg}] = s[${insn.rm}];`;
  }
  if (op >= 0xb8 && op <= 0xbf && insn.osize === 4) return `s[${op & 7}] = ${insn.imm | 0};`;
  if (op === 0x8d && insn.mod !== 3 && insn.osize === 4 && insn.asize === 4) {
    let expr = `${insn.disp | 0}`;
    if (insn.base >= 0) expr += ` + s[${insn.base}]`;
    if (insn.index >= 0) expr += ` + (s[${insn.index}] << ${insn.scale})`;
    return `s[${insn.reg}] = (${expr}) | 0;`;
  }
  const relative = (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) || op === 0xeb || op === 0xe9;
  if (relative && insn.osize === 4) {
    const target = `((${next}) + ${insn.imm | 0}) | 0`;
    const jump = `{ const t = ${target}; if ((t >>> 0) > (s[${SEG_LIMIT + Seg.CS}] >>> 0)) { cpu.insnStart = ${next} - ${insn.length}; ` +
      `s[${EIP}] = ${next}; cpu.jump(t); } s[${EIP}] = t; }`;
    if (op === 0xeb || op === 0xe9) return jump;
    const cc = op & 15;
    const condition = cc === 4 ? 'h.getZF(s)' : cc === 5 ? '!h.getZF(s)' : `h.testCondition(s, ${cc})`;
    return `if (${condition}) ${jump} else s[${EIP}] = ${next};`;
  }
  return undefined;
}

/** Compile `block` (entered at any EIP: code is position independent through `base`). */
export function compileBlock(block: Block): CompiledBlock | null {
  if (!compilerAvailable) return null;
  const insns = block.insns;
  const lines: string[] = [];
  const count = insns.length;
  for (let k = 0; k < insns.length; k++) {
    const insn = insns[k]!;
    const start = `(base + ${insn.offset}) | 0`;
    const next = `(base + ${insn.offset + insn.length}) | 0`;
    const code = inline(insn, next);
    const isLast = k === insns.length - 1;
    if (code !== undefined) {
      lines.push(code);
      if (isLast && !code.includes(`s[${EIP}]`)) lines.push(`s[${EIP}] = ${next};`);
      continue;
    }
    lines.push(`cpu.insnStart = ${start}; s[${EIP}] = ${next}; i${k}.handler(cpu, i${k});`);
    lines.push(`if (cpu.blockBreak) return done + ${k + 1};`);
  }
  const last = insns[count - 1]!.opcode;
  const mayLoop = (last >= 0x70 && last <= 0x7f) || (last >= 0x180 && last <= 0x18f) || last === 0xeb || last === 0xe9;
  // Pending events end the loop: a stop request, a mode bit (halt/shadow/shutdown), or INTR with IF = 1.
  const events = `cpu.stopRequest !== null || s[${MODE}] !== 0 || ((s[${EFLAGS}] & ${Flag.IF}) !== 0 && cpu.interrupts.pending())`;
  const body = mayLoop
    ? `for (;;) {\ncpu.compiledDone = done;\n${lines.join('\n')}\ndone += ${count};\n` +
      `if (s[${EIP}] !== base || done + ${count} > max || ${events}) return done;\n}`
    : `cpu.compiledDone = 0;\n${lines.join('\n')}\nreturn ${count};`;
  const prologue = insns.map((_, k) => `const i${k} = insns[${k}];`).join('\n');
  const source = `${prologue}\nreturn function compiledBlock(cpu, s, max) {\nconst base = s[${EIP}];\nlet done = 0;\n${body}\n};`;
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
