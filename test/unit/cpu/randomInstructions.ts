// Random instruction generator (NASM syntax) shared by the QEMU differential test and the block-compiler
// equivalence test: ALU, shifts/rotates, multiply, bit ops, SETcc/CMOVcc, LEA, MOVZX/MOVSX, exchanges,
// conversions, flag ops, memory forms on `buffer`, and REP string groups. No DIV (it may #DE in QEMU user
// mode, which kills the process).

const R32 = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'];
const R16 = ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp'];
const R8 = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

export function randomInstruction(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[next() % list.length]!;
  const imm32 = (): number => (next() % 4 === 0 ? [0, 1, -1, 0x7fffffff, -0x80000000, 0x80][next() % 6]! : next() | 0);
  const imm8 = (): number => (next() % 256) - 128;
  const memory = (): string => `[buffer + ${next() % 240}]`;
  const size = (): string => pick(['byte', 'word', 'dword']);
  switch (next() % 34) {
    case 26: return `${pick(ALU)} ${size()} ${memory()}, ${next() % 100}`;
    case 27: return `${pick(ALU)} ${memory()}, ${pick(R32)}`;
    case 28: return `${pick(ALU)} ${pick(R32)}, ${memory()}`;
    case 29: return `${pick(['inc', 'dec', 'neg', 'not'])} ${size()} ${memory()}`;
    case 30: return `${pick(SHIFTS)} ${size()} ${memory()}, ${pick(['1', 'cl', String(next() % 33)])}`;
    case 31: return `${pick(['xadd', 'cmpxchg', 'xchg'])} ${memory()}, ${pick(R32)}`;
    case 32: {
      const op = pick(['movsb', 'movsd', 'stosb', 'stosd', 'lodsb', 'lodsw', 'scasb', 'cmpsb', 'cmpsd', 'scasd']);
      const prefix = op.startsWith('cmps') || op.startsWith('scas') ? pick(['repe', 'repne', '']) : pick(['rep', '']);
      return `mov esi, buffer + ${next() % 64 + 64}\nmov edi, buffer + ${next() % 64 + 64}\nmov ecx, ${next() % 9}\n` +
        `${pick(['cld', 'std'])}\n${prefix} ${op}\ncld`;
    }
    case 33: return `${pick(['bt', 'bts', 'btr', 'btc'])} dword ${memory()}, ${next() % 32}`;
    case 0: case 1: return `${pick(ALU)} ${pick(R32)}, ${pick(R32)}`;
    case 2: return `${pick(ALU)} ${pick(R32)}, ${imm32()}`;
    case 3: return `${pick(ALU)} ${pick(R32)}, byte ${imm8()}`;
    case 4: return `${pick(ALU)} ${pick(R8)}, ${pick(R8)}`;
    case 5: return `${pick(ALU)} ${pick(R16)}, ${next() & 0xffff}`;
    case 6: return `${pick(['inc', 'dec', 'neg', 'not'])} ${pick([...R32, ...R16, ...R8])}`;
    case 7: return `${pick(SHIFTS)} ${pick([...R32, ...R16, ...R8])}, ${pick(['1', 'cl', String(next() % 40)])}`;
    case 8: return `${pick(['mul', 'imul'])} ${pick([...R32, ...R16, ...R8])}`;
    case 9: return `imul ${pick(R32)}, ${pick(R32)}`;
    case 10: return `imul ${pick(R32)}, ${pick(R32)}, ${imm32()}`;
    case 11: return `${pick(['bt', 'bts', 'btr', 'btc'])} ${pick(R32)}, ${next() % 2 ? pick(R32) : String(next() % 64)}`;
    case 12: return `${pick(['bsf', 'bsr'])} ${pick(R32)}, ${pick(R32)}`;
    case 13: return `${pick(['shld', 'shrd'])} ${pick(R32)}, ${pick(R32)}, ${next() % 2 ? 'cl' : String(next() % 32)}`;
    case 14: return `set${pick(CC)} ${pick(R8)}`;
    case 15: return `cmov${pick(CC)} ${pick(R32)}, ${pick(R32)}`;
    case 16: return `lea ${pick(R32)}, [${pick(R32)} + ${pick(R32)}*${pick([1, 2, 4, 8])} + ${imm32()}]`;
    case 17: return `${pick(['movzx', 'movsx'])} ${pick(R32)}, ${next() % 2 ? pick(R8) : pick(R16)}`;
    case 18: return `${pick(['xchg', 'xadd', 'cmpxchg'])} ${pick(R32)}, ${pick(R32)}`;
    case 19: return `bswap ${pick(R32)}`;
    case 20: return pick(['cbw', 'cwde', 'cwd', 'cdq', 'lahf', 'sahf', 'clc', 'stc', 'cmc']);
    case 21: return `test ${pick(R32)}, ${next() % 2 ? pick(R32) : String(imm32())}`;
    case 22: return `mov ${pick(R32)}, ${imm32()}`;
    case 23: return `${pick(ALU)} ${pick(R8)}, ${imm8() & 0xff}`;
    case 24: return `${pick(SHIFTS)} ${pick(R16)}, ${pick(['1', 'cl', String(next() % 34)])}`;
    default: return `${pick(['adc', 'sbb'])} ${pick(R16)}, ${pick(R16)}`;
  }
}

