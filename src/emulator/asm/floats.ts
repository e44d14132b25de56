// Floating-point constants in data declarations (NASM manual 3.4.6): `db` (8-bit, 1-4-3), `dw` (IEEE
// half), `dd` (single), `dq` (double), `dt` (x87 80-bit extended). Decimal (`1.5`, `1e10`, `1.e-3`)
// and hexadecimal (`0x1.8p+1`) forms, underscores, a leading sign, and the special values __?Infinity?__,
// __?QNaN?__, __?SNaN?__. The conversion is exact (BigInt rationals), so every
// bit matches NASM's conversion, including subnormals and its rounding (ties toward zero) and range quirks.

interface FloatFormat {
  readonly exponentBits: number;
  /** Stored fraction bits (for the 80-bit format: the 63 bits after the explicit integer bit). */
  readonly fractionBits: number;
  /** x87 extended precision stores the integer bit explicitly. */
  readonly explicitInteger: boolean;
}

const FORMATS: ReadonlyMap<number, FloatFormat> = new Map([
  [1, { exponentBits: 4, fractionBits: 3, explicitInteger: false }],
  [2, { exponentBits: 5, fractionBits: 10, explicitInteger: false }],
  [4, { exponentBits: 8, fractionBits: 23, explicitInteger: false }],
  [8, { exponentBits: 11, fractionBits: 52, explicitInteger: false }],
  [10, { exponentBits: 15, fractionBits: 63, explicitInteger: true }],
]);

const DECIMAL = /^([0-9][0-9_]*)?(?:\.([0-9_]*))?(?:e([+-]?[0-9_]+))?$/;
const HEXADECIMAL = /^0[xh]([0-9a-f_]*)(?:\.([0-9a-f_]*))?(?:p([+-]?[0-9_]+))?$/;
const SPECIALS: ReadonlyMap<string, 'inf' | 'qnan' | 'snan'> = new Map([
  ['__?infinity?__', 'inf'], ['__infinity__', 'inf'], ['__?qnan?__', 'qnan'], ['__qnan__', 'qnan'], ['__nan__', 'qnan'],
  ['__?nan?__', 'qnan'], ['__?snan?__', 'snan'], ['__snan__', 'snan'],
]);

/** True when `text` is a floating-point literal NASM accepts (a `.` or an exponent; not an integer). */
export function isFloatLiteral(text: string): boolean {
  const t = text.toLowerCase();
  if (HEXADECIMAL.test(t)) return t.includes('.') || t.includes('p');
  const m = DECIMAL.exec(t);
  return m !== null && m[1] !== undefined && (m[2] !== undefined || m[3] !== undefined);
}

/** True for the special-value names (__?Infinity?__ …). */
export function isFloatSpecial(name: string): boolean {
  return SPECIALS.has(name.toLowerCase());
}

/** Whether `size` bytes can hold a float constant (db, dw, dd, dq, dt). */
export function hasFloatFormat(size: number): boolean {
  return FORMATS.has(size);
}

/** The rational value of a literal: numerator / 2^-binaryExponent / 10^-decimalExponent. */
interface Literal {
  readonly mantissa: bigint;
  readonly decimalExponent: number;
  readonly binaryExponent: number;
  readonly hexadecimal: boolean;
}

function parseLiteral(text: string): Literal | undefined {
  const t = text.toLowerCase().replace(/_/g, '');
  const hex = HEXADECIMAL.exec(t);
  if (hex) {
    const whole = hex[1] ?? '';
    const fraction = hex[2] ?? '';
    if (whole + fraction === '') return undefined;
    return { mantissa: BigInt(`0x${whole}${fraction}`), decimalExponent: 0, binaryExponent: Number(hex[3] ?? 0) - 4 * fraction.length, hexadecimal: true };
  }
  const dec = DECIMAL.exec(t);
  if (!dec || dec[1] === undefined) return undefined;
  const fraction = dec[2] ?? '';
  return { mantissa: BigInt(dec[1] + fraction), decimalExponent: Number(dec[3] ?? 0) - fraction.length, binaryExponent: 0, hexadecimal: false };
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export interface EncodedFloat {
  readonly bytes: Uint8Array;
  /** NASM's warning for a value too large for the format (it becomes infinity). */
  readonly overflow: boolean;
}

/**
 * The bytes (little-endian, `size` of them) of a float literal or special name, or an error message.
 * Values too large for the format become infinity, too small ones zero (with NASM's rounding).
 */
export function encodeFloat(text: string, negative: boolean, size: number): EncodedFloat | string {
  const format = FORMATS.get(size);
  if (!format) return `floating-point constant not allowed in a ${size * 8}-bit data declaration`;
  let overflow = false;
  const { exponentBits, fractionBits, explicitInteger } = format;
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponentField = BigInt((1 << exponentBits) - 1);
  const significandBits = explicitInteger ? fractionBits + 1 : fractionBits;
  const integerBit = explicitInteger ? 1n << BigInt(fractionBits) : 0n;
  let bits: bigint;
  const special = SPECIALS.get(text.toLowerCase());
  if (special !== undefined) {
    const top = 1n << BigInt(fractionBits - 1);
    const fraction = special === 'inf' ? 0n : special === 'qnan' ? top : 1n;
    bits = (maxExponentField << BigInt(significandBits)) | integerBit | fraction;
  } else {
    const literal = parseLiteral(text);
    if (!literal) return `invalid floating-point constant \`${text}'`;
    bits = encodeFinite(literal, fractionBits, bias, significandBits, integerBit);
    if (bits === OVERFLOW) {
      overflow = true;
      bits = (maxExponentField << BigInt(significandBits)) | integerBit;
    }
  }
  if (negative) bits |= 1n << BigInt(size * 8 - 1);
  const out = new Uint8Array(size);
  for (let k = 0; k < size; k++) out[k] = Number((bits >> BigInt(8 * k)) & 0xffn);
  return { bytes: out, overflow };
}

/** Marker result of encodeFinite: the value is too large for the format. */
const OVERFLOW = -1n;

function encodeFinite(
  literal: Literal,
  fractionBits: number, bias: number, significandBits: number, integerBit: bigint,
): bigint {
  if (literal.mantissa === 0n) return 0n;
  if (literal.decimalExponent > 5000) return OVERFLOW;
  if (literal.decimalExponent < -5000) return 0n;
  // value = num / den exactly.
  let num = literal.mantissa;
  let den = 1n;
  if (literal.decimalExponent >= 0) num *= 10n ** BigInt(literal.decimalExponent);
  else den *= 10n ** BigInt(-literal.decimalExponent);
  if (literal.binaryExponent >= 0) num <<= BigInt(literal.binaryExponent);
  else den <<= BigInt(-literal.binaryExponent);
  // e2 = floor(log2(num / den)).
  let e2 = bitLength(num) - bitLength(den);
  if ((e2 >= 0 ? num < den << BigInt(e2) : num << BigInt(-e2) < den)) e2--;
  const minExponent = 1 - bias;
  // Scale so the significand has fractionBits bits after the binary point (fewer for subnormals).
  const shift = fractionBits - Math.max(e2, minExponent);
  const scaledNum = shift >= 0 ? num << BigInt(shift) : num;
  const scaledDen = shift >= 0 ? den : den << BigInt(-shift);
  // NASM 2.16 rounds to nearest; an exact tie goes to even for hexadecimal literals but toward zero
  // for decimal ones (16777219.0 → 0x4B800001, 0x1.000003p0 → 0x3F800002).
  let q = scaledNum / scaledDen;
  const twice = (scaledNum % scaledDen) * 2n;
  if (twice > scaledDen || (twice === scaledDen && literal.hexadecimal && (q & 1n) === 1n)) q++;
  let exponent = Math.max(e2, minExponent);
  // NASM's range check lets the exponent reach bias + 1 (3.5e38 in a dd gives 0x7F83A7C6, no warning);
  // beyond that, or when rounding carries past bias, the constant overflows to infinity with a warning.
  if (exponent > bias + 1) return OVERFLOW;
  if (q >> BigInt(fractionBits + 1) !== 0n) {
    q >>= 1n;
    exponent++;
    if (exponent > bias) return OVERFLOW;
  }
  // Subnormal (or rounded to zero): exponent field 0, no integer bit (x87 denormals clear it too).
  if (q >> BigInt(fractionBits) === 0n) return q;
  const exponentField = BigInt(exponent + bias);
  const fraction = q & ((1n << BigInt(fractionBits)) - 1n);
  return (exponentField << BigInt(significandBits)) | integerBit | fraction;
}
