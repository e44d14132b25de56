// Regular-expression building blocks and NASM word lists shared by the grammar's rule builders.
// Identifier characters per NASM manual 3.1; word lists per ch. 3.2 (pseudo-instructions), 3.3 (size
// keywords), 4 (preprocessor), 7 (directives) and Intel SDM Vol. 3A 2.1.6 / 17.2 (control and debug registers).

export const suffix = 'hyperstep-nasm';

/** The subset of the TextMate grammar schema the generator emits. */
export type Captures = Record<string, { name?: string; patterns?: Rule[] }>;
export interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  captures?: Captures;
  beginCaptures?: Captures;
  endCaptures?: Captures;
  contentName?: string;
  patterns?: Rule[];
  include?: string;
}

// NASM identifier characters (manual 3.1): letters, digits, _ $ # @ ~ . ?; the first may not be a digit.
export const identChar = '[\\w$#@~.?]';
// `\b` first: a pattern that opens with a bare look-behind defeats Oniguruma's search optimisation and made
// tokenizing ~8x slower; `\b` plus a look-behind for the non-word identifier characters means the same here,
// because every guarded word starts with a letter or digit.
export const before = '\\b(?<![$#@~.?])';
export const after = `(?!${identChar})`;
export const identifier = `[A-Za-z_?][\\w$#@~.?]*`;

interface TrieNode {
  terminal: boolean;
  readonly children: Map<string, TrieNode>;
}

/**
 * The words as one prefix-factored regular expression (`c(?:l(?:i|ts)|pu)…`). Oniguruma cannot use its
 * literal-string search for a long case-insensitive alternation, so a flat `cli|clts|cpuid|…` is tried word by
 * word at every position; the factored form fails after one character on most positions, which makes
 * tokenizing several times faster. Longer words come before the word that is their prefix, so the match
 * never stops early.
 */
export function alternation(words: readonly string[]): string {
  const root: TrieNode = { terminal: false, children: new Map() };
  for (const w of new Set(words.map((x) => x.toLowerCase()))) {
    let node = root;
    for (const ch of w) {
      let next = node.children.get(ch);
      if (!next) {
        next = { terminal: false, children: new Map() };
        node.children.set(ch, next);
      }
      node = next;
    }
    node.terminal = true;
  }
  const emit = (node: TrieNode): string => {
    const branches = [...node.children.keys()].sort().map((ch) => escapeRegex(ch) + emit(node.children.get(ch)!));
    if (branches.length === 0) return '';
    const body = branches.length === 1 ? branches[0]! : `(?:${branches.join('|')})`;
    if (!node.terminal) return body;
    return branches.length === 1 && node.children.size === 1 && [...node.children.values()][0]!.children.size === 0
      ? `${body}?`
      : `(?:${body})?`;
  };
  return emit(root);
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
}

export function word(words: readonly string[]): string {
  return `(?i)${before}(?:${alternation(words)})${after}`;
}

export const dataDirectives = ['db', 'dw', 'dd', 'dq', 'dt', 'do', 'dy', 'dz'];
export const reserveDirectives = ['resb', 'resw', 'resd', 'resq', 'rest', 'reso', 'resy', 'resz'];
export const sizeKeywords = ['byte', 'word', 'dword', 'qword', 'tword', 'oword', 'yword', 'zword'];
export const jumpModifiers = ['short', 'near', 'far', 'strict'];
export const statementDirectives = [
  'bits', 'use16', 'use32', 'org', 'align', 'alignb', 'global', 'extern', 'common', 'static', 'cpu', 'default',
  'absolute', 'struc', 'endstruc', 'istruc', 'at', 'iend', 'incbin', 'times', 'equ',
];
export const generalRegisters = [
  'al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh', 'ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di',
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi',
];
export const segmentRegisters = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'];
export const controlRegisters = ['cr0', 'cr1', 'cr2', 'cr3', 'cr4'];
export const debugRegisters = ['dr0', 'dr1', 'dr2', 'dr3', 'dr4', 'dr5', 'dr6', 'dr7'];
export const otherRegisters = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((n) => [`st${n}`, `mm${n}`, `xmm${n}`]), 'st', 'tr6', 'tr7',
];
// NASM manual ch. 4: preprocessor directives (the `%` is part of the token).
export const preprocessorWords = [
  'define', 'xdefine', 'idefine', 'ixdefine', 'undef', 'assign', 'iassign', 'defstr', 'idefstr', 'deftok',
  'defalias', 'strcat', 'strlen', 'substr', 'macro', 'imacro', 'endmacro', 'unmacro', 'exitmacro', 'rotate',
  'rep', 'endrep', 'exitrep', 'include', 'pathsearch', 'depend', 'use', 'push', 'pop', 'repl', 'local',
  'arg', 'stacksize', 'line', 'error', 'warning', 'fatal', 'pragma', 'clear', 'else', 'endif',
  ...['if', 'elif'].flatMap((k) =>
    ['', 'n'].flatMap((n) =>
      ['', 'def', 'macro', 'ctx', 'idn', 'idni', 'id', 'num', 'str', 'token', 'empty', 'env', 'usable', 'usingable'].map(
        (t) => `${k}${n}${t}`,
      ),
    ),
  ),
];
