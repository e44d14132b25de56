// The dense dispatch table: one handler slot per (opcode map, opcode byte, ModRM.reg), so choosing an
// instruction's handler at decode time is one array index. Each exec/*.ts module registers its handlers
// with `define`; an optional second handler is a fast variant for 32-bit register-only operands.

import type { Handler } from '../insn';

/** Register `handler` for opcode key (map * 256 + byte) and ModRM.reg `ext` (-1: every value). */
export type Define = (opcodeKey: number, ext: number, handler: Handler, reg32?: Handler) => void;

export const HANDLERS: (Handler | undefined)[] = new Array<Handler | undefined>(3 * 256 * 8).fill(undefined);
export const FAST_REG32: (Handler | undefined)[] = new Array<Handler | undefined>(3 * 256 * 8).fill(undefined);

export const define: Define = (opcodeKey, ext, handler, reg32) => {
  for (let reg = 0; reg < 8; reg++) {
    if (ext >= 0 && reg !== ext) continue;
    HANDLERS[(opcodeKey << 3) | reg] = handler;
    FAST_REG32[(opcodeKey << 3) | reg] = reg32;
  }
};
