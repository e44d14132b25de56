// Tokenizer for one preprocessed NASM source line: identifiers, numbers in every NASM form, quoted strings
// and character constants (with backquote escapes), and operators. NASM manual 3.1 (layout), 3.4 (constants).

import { isFloatLiteral } from './floats';

export type TokenKind = 'ident' | 'number' | 'string' | 'op' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier / operator text exactly as written (identifiers keep their case). */
  readonly text: string;
  /** 0-based start and end columns in the line. */
  readonly start: number;
  readonly end: number;
  /** For numbers: the value. For strings: unused (see `bytes`). */
  readonly value?: number;
  /** For numbers beyond 2^53: the exact 64-bit value (`value` is then rounded). */
  readonly big?: bigint;
  /** For strings: the bytes of the string after escape processing. */
  readonly bytes?: number[];
  /** A floating-point constant (valid only as a data item; `error` says so elsewhere). */
  readonly float?: boolean;
  /** Set when the number or string was malformed; the message says why. */
  readonly error?: string;
}

const IDENT_START = /[A-Za-z_.?@]/;
const IDENT_CHAR = /[A-Za-z0-9_$#@~.?]/;

const THREE_CHAR_OPS = ['<<<', '>>>', '<=>'];
const TWO_CHAR_OPS = ['<<', '>>', '//', '%%', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^'];

export function isIdentStart(ch: string): boolean {
  return IDENT_START.test(ch);
}
export function isIdentChar(ch: string): boolean {
  return IDENT_CHAR.test(ch);
}

/** Splits a line (comment already removed or not) into tokens. Stops at a `;` outside strings. */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === ';') break;
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`') {
      const s = readString(line, i);
      tokens.push({ kind: 'string', text: line.slice(start, s.end), start, end: s.end, bytes: s.bytes, ...(s.error ? { error: s.error } : {}) });
      i = s.end;
      continue;
    }
    if ((ch >= '0' && ch <= '9') || (ch === '$' && i + 1 < n && line[i + 1]! >= '0' && line[i + 1]! <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_$.]/.test(line[j]!)) j++;
      // A signed exponent belongs to a float constant: `1.5e-3`, `0x1.8p+1` (NASM manual 3.4.6).
      if (j + 1 < n && (line[j] === '+' || line[j] === '-') && line[j + 1]! >= '0' && line[j + 1]! <= '9' && /^(?:[0-9][0-9_]*\.?[0-9_]*e|0[xh][0-9a-f_]*\.?[0-9a-f_]*p)$/i.test(line.slice(i, j))) {
        j += 2;
        while (j < n && /[0-9_]/.test(line[j]!)) j++;
      }
      const text = line.slice(i, j);
      const parsed = parseNumber(text);
      const exact = parsed !== undefined && !Number.isSafeInteger(parsed) ? parseBigNumber(text) : undefined;
      const float = parsed === undefined && isFloatLiteral(text);
      const error = float ? `floating-point constant \`${text}' is only allowed in db/dw/dd/dq/dt` : `invalid number \`${text}'`;
      tokens.push({ kind: 'number', text, start, end: j, value: parsed ?? 0, ...(exact !== undefined ? { big: exact } : {}), ...(parsed === undefined ? { error } : {}), ...(float ? { float } : {}) });
      i = j;
      continue;
    }
    if (ch === '$') {
      // `$$`, `$`, or `$name` (an identifier escaped so it is never taken as a register or keyword).
      if (line[i + 1] === '$') {
        tokens.push({ kind: 'op', text: '$$', start, end: i + 2 });
        i += 2;
        continue;
      }
      if (i + 1 < n && isIdentStart(line[i + 1]!)) {
        let j = i + 1;
        while (j < n && isIdentChar(line[j]!)) j++;
        tokens.push({ kind: 'ident', text: line.slice(i, j), start, end: j });
        i = j;
        continue;
      }
      tokens.push({ kind: 'op', text: '$', start, end: i + 1 });
      i++;
      continue;
    }
    if (ch === '?' && (i + 1 >= n || !isIdentChar(line[i + 1]!))) {
      tokens.push({ kind: 'op', text: '?', start, end: i + 1 });
      i++;
      continue;
    }
    if (isIdentStart(ch)) {
      let j = i + 1;
      while (j < n && isIdentChar(line[j]!)) j++;
      tokens.push({ kind: 'ident', text: line.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    const three = line.substr(i, 3);
    if (THREE_CHAR_OPS.includes(three)) {
      tokens.push({ kind: 'op', text: three, start, end: i + 3 });
      i += 3;
      continue;
    }
    const two = line.substr(i, 2);
    if (TWO_CHAR_OPS.includes(two)) {
      tokens.push({ kind: 'op', text: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    tokens.push({ kind: 'op', text: ch, start, end: i + 1 });
    i++;
  }
  tokens.push({ kind: 'end', text: '', start: i, end: i });
  return tokens;
}

const RADIX_LETTERS: Record<string, number> = { x: 16, h: 16, d: 10, t: 10, o: 8, q: 8, b: 2, y: 2 };

/**
 * Parses a NASM numeric constant (manual 3.4.1): 0x/0h/$ prefixes and h suffix (hex), 0d/0t and d/t
 * (decimal), 0o/0q and o/q (octal), 0b/0y and b/y (binary), underscores ignored. With both a prefix and a
 * suffix the larger radix wins (so `0b1h` is hex, as in NASM). Returns undefined if malformed.
 */
export function parseNumber(text: string): number | undefined {
  const big = parseBigNumber(text);
  return big === undefined ? undefined : Number(big);
}

/** The exact signed 64-bit value of a NASM numeric constant, or undefined if malformed. */
export function parseBigNumber(text: string): bigint | undefined {
  let digits = text.replace(/_/g, '').toLowerCase();
  let radix = 10;
  if (digits.startsWith('$')) {
    radix = 16;
    digits = digits.slice(1);
  } else {
    const prefixRadix = digits.length > 2 && digits[0] === '0' ? RADIX_LETTERS[digits[1]!] : undefined;
    const suffixRadix = digits.length > 1 ? RADIX_LETTERS[digits[digits.length - 1]!] : undefined;
    if (prefixRadix !== undefined && (suffixRadix === undefined || prefixRadix >= suffixRadix) && isDigits(digits.slice(2), prefixRadix)) {
      radix = prefixRadix;
      digits = digits.slice(2);
    } else if (suffixRadix !== undefined && isDigits(digits.slice(0, -1), suffixRadix)) {
      radix = suffixRadix;
      digits = digits.slice(0, -1);
    }
  }
  if (digits.length === 0 || !isDigits(digits, radix)) return undefined;
  if (radix === 10 && digits.length < 16) return BigInt(digits);
  let value = 0n;
  const big = BigInt(radix);
  for (const c of digits) value = value * big + BigInt(parseInt(c, radix));
  return BigInt.asIntN(64, value);
}

function isDigits(s: string, radix: number): boolean {
  if (s.length === 0) return false;
  for (const c of s) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= radix) return false;
  }
  return true;
}

/** Reads a quoted string starting at `start` (NASM manual 3.4.2): '…' and "…" verbatim, `…` with escapes. */
function readString(line: string, start: number): { end: number; bytes: number[]; error?: string } {
  const quote = line[start]!;
  const bytes: number[] = [];
  let i = start + 1;
  while (i < line.length) {
    const c = line[i]!;
    if (c === quote) return { end: i + 1, bytes };
    if (quote === '`' && c === '\\' && i + 1 < line.length) {
      i = readEscape(line, i + 1, bytes);
      continue;
    }
    pushUtf8(bytes, line.codePointAt(i)!);
    i += c.length === 1 && line.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  return { end: line.length, bytes, error: 'unterminated string' };
}

const SIMPLE_ESCAPES: Record<string, number> = {
  "'": 0x27, '"': 0x22, '`': 0x60, '\\': 0x5c, '?': 0x3f, a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, e: 27,
};

function readEscape(line: string, i: number, bytes: number[]): number {
  const c = line[i]!;
  if (c in SIMPLE_ESCAPES) {
    bytes.push(SIMPLE_ESCAPES[c]!);
    return i + 1;
  }
  if (c >= '0' && c <= '7') {
    let j = i;
    let v = 0;
    while (j < line.length && j < i + 3 && line[j]! >= '0' && line[j]! <= '7') v = v * 8 + Number(line[j++]);
    bytes.push(v & 0xff);
    return j;
  }
  if (c === 'x') {
    let j = i + 1;
    let v = 0;
    while (j < line.length && j < i + 3 && /[0-9a-fA-F]/.test(line[j]!)) v = v * 16 + parseInt(line[j++]!, 16);
    bytes.push(v & 0xff);
    return j;
  }
  if (c === 'u' || c === 'U') {
    const len = c === 'u' ? 4 : 8;
    let j = i + 1;
    let v = 0;
    while (j < line.length && j < i + 1 + len && /[0-9a-fA-F]/.test(line[j]!)) v = v * 16 + parseInt(line[j++]!, 16);
    pushUtf8(bytes, v);
    return j;
  }
  pushUtf8(bytes, line.codePointAt(i)!);
  return i + 1;
}

function pushUtf8(bytes: number[], cp: number): void {
  if (cp < 0x80) bytes.push(cp);
  else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

/** A character constant's value: the bytes little-endian, as NASM does ('ab' = 0x6261). Max 8 bytes. */
export function charConstantValue(bytes: readonly number[]): number {
  return Number(charConstantBig(bytes));
}

export function charConstantBig(bytes: readonly number[]): bigint {
  let v = 0n;
  for (let k = Math.min(bytes.length, 8) - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[k]!);
  return BigInt.asIntN(64, v);
}
