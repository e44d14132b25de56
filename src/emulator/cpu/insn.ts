// The decoded-instruction record the executor runs. It is built once per instruction when a block is
// decoded (from the shared instruction table's decoder) and cached per physical page, so the hot loop
// never decodes or allocates. Handlers are plain functions `(cpu, insn) => void` looked up once, at
// decode time, from the dense dispatch table in dispatch.ts.

import type { Cpu } from './cpu';

export type Handler = (cpu: Cpu, insn: Insn) => void;

export class Insn {
  handler: Handler;
  /** Length in bytes. */
  length = 0;
  /** Offset of the instruction from the start of its block (EIP = block EIP + offset). */
  offset = 0;
  /** Dispatch key: map * 256 + final opcode byte (one-byte opcodes 0..255, 0F xx at 256..511). */
  opcode = 0;
  /** ModRM fields; mod = 3 is a register operand. */
  mod = 3;
  reg = 0;
  rm = 0;
  /** Operand size in bytes for v-sized operands (2 with 66h in 32-bit code, else 4). */
  osize = 4;
  /** Address size: 2 or 4. */
  asize = 4;
  /** Memory operand: base and index register numbers (-1 none), scale shift, displacement, segment. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  seg = 3;
  /** True when a segment override prefix was present. */
  segOverride = false;
  /** Immediate / relative displacement / far offset, and the second immediate (ENTER, far selector). */
  imm = 0;
  imm2 = 0;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  lock = false;
  /** The instruction must be the last of its block (control transfer or mode change). */
  endsBlock = false;
  /** Index of the shared table's form (InstructionForm.index), -1 when undecodable (#UD). */
  formIndex = -1;

  constructor(handler: Handler) {
    this.handler = handler;
  }
}

/** A straight run of decoded instructions starting at one physical address. */
export class Block {
  valid = true;
  /** Executions so far (the block is compiled once it is hot). */
  hits = 0;
  /** The compiled form (blockCompiler.ts), or null while interpreted. */
  compiled: ((cpu: Cpu, s: Int32Array, max: number) => number) | null = null;
  /** Breakpoint check cache for the debug loop: generation and entry address it was computed for. */
  breakpointGeneration = -1;
  breakpointEntry = -1;
  hasBreakpoint = false;
  /** Last two successor blocks, the EIPs they start at, and the code generation they are valid for. */
  successor0: Block | null = null;
  successor1: Block | null = null;
  successorEip0 = 0;
  successorEip1 = 0;
  successorGeneration = -1;
  constructor(
    readonly insns: Insn[],
    /** Physical pages the bytes came from (one, or two when the last instruction straddles). */
    readonly pages: readonly number[],
    readonly key: number,
  ) {}
}
