// Turns the compact rows of the category tables (SDM notation + SDM opcode text + options) into typed
// InstructionForm records. Runs once at module load; nothing here is on a hot path.

import {
  Flag, PrefixAllowed, type InstructionForm, type OperandKind, type OpcodeMap, type Privilege,
  type VirtualizationClass,
} from './types';

export interface FormOptions {
  /** NASM/ndisasm mnemonic when it differs from the SDM mnemonic in lower case. */
  readonly name?: string;
  readonly osize?: 16 | 32;
  readonly mod?: 'mem' | 'reg';
  readonly lock?: boolean;
  readonly rep?: boolean;
  readonly repne?: boolean;
  /** Flags read / written / left undefined, as letters: c p a z s o t i d n (NT) l (IOPL) r (RF) x (all). */
  readonly r?: string;
  readonly w?: string;
  readonly u?: string;
  readonly block?: boolean;
  readonly priv?: Privilege;
  readonly virt?: VirtualizationClass;
}

export type FormRow = readonly [sdm: string, opcode: string, options?: FormOptions];

const FLAG_LETTERS: Readonly<Record<string, number>> = {
  c: Flag.CF, p: Flag.PF, a: Flag.AF, z: Flag.ZF, s: Flag.SF, o: Flag.OF, t: Flag.TF, i: Flag.IF,
  d: Flag.DF, n: Flag.NT, l: Flag.IOPL, r: Flag.RF,
  x: Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF | Flag.TF | Flag.IF | Flag.DF | Flag.NT |
    Flag.IOPL | Flag.RF | Flag.AC | Flag.ID | Flag.VIF | Flag.VIP,
};

export function flagMask(letters: string | undefined): number {
  let mask = 0;
  for (const letter of letters ?? '') {
    const bit = FLAG_LETTERS[letter];
    if (bit === undefined) throw new Error(`isa table: unknown flag letter '${letter}'`);
    mask |= bit;
  }
  return mask;
}

interface ParsedOpcode {
  map: OpcodeMap;
  opcode: number;
  mandatoryPrefix: number;
  hasModrm: boolean;
  modrmReg: number;
  modrmRm: number;
}

/** Parses SDM opcode text such as '0F 01 /2', 'F3 0F C7 /6', '50+r', '0F 01 C1', '83 /0 ib'. */
function parseOpcode(text: string): ParsedOpcode {
  const tokens = text.split(/\s+/).filter((t) => !/^(ib|iw|id|iz|cb|cw|cd|cp)$/.test(t));
  const bytes: number[] = [];
  let hasModrm = false;
  let modrmReg = -1;
  for (const token of tokens) {
    if (token === '/r') hasModrm = true;
    else if (/^\/[0-7]$/.test(token)) { hasModrm = true; modrmReg = Number(token[1]); }
    else bytes.push(parseInt(token.replace('+r', ''), 16));
  }
  let mandatoryPrefix = 0;
  if (bytes.length > 1 && (bytes[0] === 0x66 || bytes[0] === 0xf3 || bytes[0] === 0xf2)) {
    mandatoryPrefix = bytes.shift() as number;
  }
  let map: OpcodeMap = 0;
  if (bytes[0] === 0x0f && bytes.length > 1) {
    bytes.shift();
    map = 1;
    if ((bytes[0] as number) === 0x38 && bytes.length > 1) { bytes.shift(); map = 2; }
  }
  const opcode = bytes[0] as number;
  let modrmRm = -1;
  if (bytes.length > 1) {
    const fixed = bytes[1] as number;
    hasModrm = true;
    modrmReg = (fixed >> 3) & 7;
    modrmRm = fixed & 7;
  }
  return { map, opcode, mandatoryPrefix, hasModrm, modrmReg, modrmRm };
}

/** Builds typed forms from rows; `firstIndex` is the index of the first row in the whole table. */
export function buildForms(
  category: InstructionForm['category'], rows: readonly FormRow[], firstIndex: number,
  defaults: (mnemonic: string) => { virt: VirtualizationClass; priv: Privilege },
): InstructionForm[] {
  return rows.map(([sdm, opcodeText, options = {}], i) => {
    const space = sdm.indexOf(' ');
    const sdmMnemonic = (space < 0 ? sdm : sdm.slice(0, space)).toLowerCase();
    const operands = (space < 0 ? [] : sdm.slice(space + 1).split(',')) as OperandKind[];
    const mnemonic = options.name ?? sdmMnemonic;
    const parsed = parseOpcode(opcodeText);
    const fallback = defaults(mnemonic);
    const written = flagMask(options.w);
    return {
      index: firstIndex + i,
      mnemonic,
      sdm,
      opcodeText,
      ...parsed,
      // M* operands are memory only (#UD otherwise); MOV CR/DR (Rd) take a register (HyperStep treats
      // mod != 11 as #UD where the SDM says the mod field is ignored).
      modrmMod: options.mod ?? (operands.some((k) => k[0] === 'M') ? 'mem' : operands.includes('Rd') ? 'reg' : 'any'),
      operands,
      operandSize: options.osize ?? 0,
      prefixesAllowed: (options.lock ? PrefixAllowed.LOCK : 0) | (options.rep ? PrefixAllowed.REP : 0) |
        (options.repne ? PrefixAllowed.REPNE : 0),
      flagsRead: flagMask(options.r),
      flagsWritten: written | flagMask(options.u),
      flagsUndefined: flagMask(options.u),
      blockBoundary: options.block ?? false,
      privilege: options.priv ?? fallback.priv,
      virtualization: options.virt ?? fallback.virt,
      category,
    };
  });
}

/** Condition codes in opcode order (Intel SDM Vol. 1, B.1), with ndisasm's spelling first. */
export const CONDITION_CODES: readonly (readonly [name: string, flagsRead: string, aliases: readonly string[]])[] = [
  ['o', 'o', []], ['no', 'o', []], ['c', 'c', ['b', 'nae']], ['nc', 'c', ['ae', 'nb']],
  ['z', 'z', ['e']], ['nz', 'z', ['ne']], ['na', 'cz', ['be']], ['a', 'cz', ['nbe']],
  ['s', 's', []], ['ns', 's', []], ['pe', 'p', ['p']], ['po', 'p', ['np']],
  ['l', 'so', ['nge']], ['nl', 'so', ['ge']], ['ng', 'zso', ['le']], ['g', 'zso', ['nle']],
];

export function hex2(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
