// Signature help while typing operands: for a multi-line macro (`%macro name 1-3`, NASM manual 4.3) the
// parameters %1…%n with which are required, optional or greedy; for a single-line macro with parameters
// (`%define name(a, b)`, NASM manual 4.1.1) its named parameters inside the parentheses; for an
// instruction its operand forms from the instruction table (Intel SDM Vol. 2 operand notation).
import type { ParameterInformation, SignatureHelp, SignatureInformation } from 'vscode-languageserver';
import type { SymbolDefinition } from '../analysis/documentIndex';
import { canonicalMnemonic, formsOf } from '../../emulator/isa/table';
import type { InstructionForm, OperandKind } from '../../emulator/isa/types';
import { CLASS_LABEL } from './instructionInfo';

/** Finds a macro or %define by name (the document first, then the other sources the server knows). */
export type MacroLookup = (name: string) => SymbolDefinition | undefined;

const PREFIXES = new Set(['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'times']);

/** The operand notation of the SDM instruction summaries (Vol. 2, 3.1.1.3), by operand-size constraint. */
function operandText(kind: OperandKind, size: 0 | 16 | 32): string {
  const v = size === 16 ? '16' : size === 32 ? '32' : '16/32';
  switch (kind) {
    case 'Eb': return 'r/m8';
    case 'Ew': return 'r/m16';
    case 'Ed': return 'r/m32';
    case 'Ev': return `r/m${v}`;
    case 'Gb': case 'Zb': return 'r8';
    case 'Gw': return 'r16';
    case 'Gd': case 'Rd': return 'r32';
    case 'Gv': case 'Rv': case 'Zv': return `r${v}`;
    case 'M': return 'm';
    case 'Mw': return 'm16';
    case 'Md': return 'm32';
    case 'Mq': return 'm64';
    case 'Mp': return 'm16:32';
    case 'Ms': return 'm16&32';
    case 'Ib': case 'Ibs': return 'imm8';
    case 'Iw': return 'imm16';
    case 'Iz': return `imm${v}`;
    case 'Jb': return 'rel8';
    case 'Jz': return `rel${v}`;
    case 'Ap': return 'ptr16:32';
    case 'Ob': return 'moffs8';
    case 'Ov': return `moffs${v}`;
    case 'Sw': return 'Sreg';
    case 'Cd': return 'CR0–CR4';
    case 'Dd': return 'DR0–DR7';
    case 'AL': return 'al';
    case 'eAX': return size === 16 ? 'ax' : size === 32 ? 'eax' : 'eax/ax';
    case 'CL': return 'cl';
    case 'DX': return 'dx';
    case 'one': return '1';
    default: return kind.toLowerCase(); // ES CS SS DS FS GS
  }
}

/** Builds a signature whose parameter labels are [start, end) offsets into its label. */
function signature(head: string, parameters: readonly { text: string; doc?: string }[], documentation?: string): SignatureInformation {
  let label = head;
  const infos: ParameterInformation[] = [];
  parameters.forEach((p, i) => {
    label += i === 0 ? ' ' : ', ';
    infos.push({ label: [label.length, label.length + p.text.length], ...(p.doc ? { documentation: p.doc } : {}) });
    label += p.text;
  });
  return { label, parameters: infos, ...(documentation ? { documentation: { kind: 'markdown', value: documentation } } : {}) };
}

/** `%macro name 2`, `1-3`, `0+`, `1-*`, `1-3+` with optional defaults: the count range (NASM manual 4.3.4-4.3.6). */
export function parseMacroParameters(text: string | undefined): { min: number; max: number; greedy: boolean } | undefined {
  const m = /^(\d+)(?:\s*-\s*(\d+|\*))?(\+)?/.exec(text?.trim() ?? '');
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[2] === '*' ? Infinity : Number(m[2]);
  return { min, max, greedy: m[3] === '+' };
}

function macroSignature(def: SymbolDefinition): SignatureInformation | undefined {
  const range = parseMacroParameters(def.parameters);
  if (!range) return undefined;
  const shown = Number.isFinite(range.max) ? range.max : range.min + 1;
  const params: { text: string; doc?: string }[] = [];
  for (let n = 1; n <= shown; n++) {
    const optional = n > range.min;
    const last = n === shown;
    let text = optional ? `[%${n}]` : `%${n}`;
    let doc = optional ? `%${n}: optional parameter` : `%${n}: required parameter`;
    if (last && !Number.isFinite(range.max)) {
      text += '…';
      doc = 'any number of further parameters (%0 counts them)';
    } else if (last && range.greedy) {
      text += '+';
      doc += '; takes the rest of the line, commas included';
    }
    params.push({ text, doc });
  }
  const counts = range.min === range.max ? `${range.min}` : `${range.min}–${Number.isFinite(range.max) ? range.max : 'any'}`;
  const docs = [`multi-line macro, ${counts} parameter${range.min === range.max && range.min === 1 ? '' : 's'}${range.greedy ? ' (greedy)' : ''} — defined on line ${def.line + 1}`];
  if (def.doc) docs.push('', def.doc);
  return signature(def.name, params, docs.join('\n'));
}

function instructionSignatures(spelling: string): SignatureInformation[] {
  const canonical = canonicalMnemonic(spelling);
  if (canonical === undefined) return [];
  const seen = new Set<string>();
  const result: SignatureInformation[] = [];
  for (const form of formsOf(canonical) as readonly InstructionForm[]) {
    if (form.operands.length === 0) continue;
    const params = form.operands.map((k) => ({ text: operandText(k, form.operandSize) }));
    const key = params.map((p) => p.text).join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(signature(spelling.toLowerCase(), params, `\`${form.sdm}\` · opcode \`${form.opcodeText}\` · ${CLASS_LABEL[form.virtualization]}`));
  }
  return result;
}

const REG32 = /^e(ax|bx|cx|dx|si|di|sp|bp)$/;
const REG16 = /^(ax|bx|cx|dx|si|di|sp|bp)$/;
const REG8 = /^[abcd][lh]$/;
const SREG = /^[cdefgs]s$/;

/** Whether an operand already written (`eax`, `[ebx+4]`, `cr3`, `0x10`) fits a parameter in SDM notation. */
export function operandFits(written: string, parameter: string): boolean {
  const sized = /^(byte|word|dword|qword|short|near|far|strict)\s+(.*)$/.exec(written.trim().toLowerCase());
  const w = sized ? sized[2]! : written.trim().toLowerCase();
  if (w === parameter) return true; // a fixed register (al, dx, cs) or the constant 1
  if (w.includes('[')) {
    if (!/^(r\/m|m|moffs)/.test(parameter)) return false;
    const bits = { byte: '8', word: '16', dword: '32', qword: '64' }[sized?.[1] ?? ''];
    if (bits === undefined || parameter === 'm') return true;
    return parameter.split(/[^\d]+/).includes(bits); // r/m16/32 fits word and dword, moffs8 byte
  }
  if (/^cr\d$/.test(w)) return parameter.startsWith('CR');
  if (/^dr\d$/.test(w)) return parameter.startsWith('DR');
  if (SREG.test(w)) return parameter === 'Sreg';
  if (REG32.test(w)) return /^r(\/m)?(16\/)?32$/.test(parameter) || (parameter === 'eax/ax' && w === 'eax');
  if (REG16.test(w)) return /^r(\/m)?16(\/32)?$/.test(parameter) || (parameter === 'eax/ax' && w === 'ax');
  if (REG8.test(w)) return /^r(\/m)?8$/.test(parameter);
  return /^(imm|rel|ptr|moffs)/.test(parameter) || (parameter === '1' && w === '1');
}

/** The operands written before the cursor, split at top-level commas (the last one is being typed). */
function writtenOperands(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** Splits off what a statement's operands have so far: the top-level comma count, or undefined in a comment. */
function operandState(text: string): { commas: number; parens: { name: string; commas: number }[] } | undefined {
  let commas = 0;
  const parens: { name: string; commas: number }[] = [];
  let brackets = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ';') return undefined;
    if (c === '"' || c === "'" || c === '`') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return { commas, parens }; // inside an unterminated string: keep the current parameter
      i = close;
    } else if (c === '(') {
      const name = /([A-Za-z_.?@][\w.$#@~?]*)\s*$/.exec(text.slice(0, i))?.[1] ?? '';
      parens.push({ name, commas: 0 });
    } else if (c === ')') parens.pop();
    else if (c === '[') brackets++;
    else if (c === ']') brackets = Math.max(0, brackets - 1);
    else if (c === ',') {
      if (parens.length > 0) parens[parens.length - 1]!.commas++;
      else if (brackets === 0) commas++;
    }
  }
  return { commas, parens };
}

/** Signature help for the text of a line before the cursor, or null when there is nothing to show. */
export function signatureHelpAt(linePrefix: string, lookup: MacroLookup): SignatureHelp | null {
  // Skip a leading label (`name:`), then prefixes, to reach the mnemonic or macro name.
  let rest = linePrefix.replace(/^\s*([A-Za-z_.?@][\w.$#@~?]*:)?\s*/, '');
  let head = /^([%A-Za-z_.?@][\w.$#@~?]*)(\s+|$)/.exec(rest);
  while (head && PREFIXES.has(head[1]!.toLowerCase()) && head[2]) {
    rest = rest.slice(head[0].length);
    if (head[1]!.toLowerCase() === 'times') rest = rest.replace(/^\S+\s+/, ''); // `times N insn`
    head = /^([%A-Za-z_.?@][\w.$#@~?]*)(\s+|$)/.exec(rest);
  }
  if (!head || !head[2]) return null; // still typing the name: completion's turn
  const operands = rest.slice(head[0].length);
  const state = operandState(operands);
  if (!state) return null;
  // Inside `name(` of a single-line macro with parameters: its parameters win.
  for (let i = state.parens.length - 1; i >= 0; i--) {
    const open = state.parens[i]!;
    const def = open.name ? lookup(open.name) : undefined;
    if (def?.kind === 'define' && def.parameterNames) {
      let label = `${def.name}(`;
      const parameters: ParameterInformation[] = def.parameterNames.map((p, n) => {
        if (n > 0) label += ', ';
        const range: [number, number] = [label.length, label.length + p.length];
        label += p;
        return { label: range };
      });
      const documentation = `single-line macro \`%define ${def.name}(${def.parameterNames.join(', ')}) ${def.valueText ?? ''}\`${def.doc ? `\n\n${def.doc}` : ''}`;
      const sig: SignatureInformation = { label: `${label})`, parameters, documentation: { kind: 'markdown', value: documentation } };
      return { signatures: [sig], activeSignature: 0, activeParameter: Math.min(open.commas, Math.max(0, parameters.length - 1)) };
    }
  }
  const name = head[1]!;
  const def = lookup(name);
  if (def?.kind === 'macro') {
    const sig = macroSignature(def);
    if (!sig) return null;
    const last = (sig.parameters?.length ?? 1) - 1;
    return { signatures: [sig], activeSignature: 0, activeParameter: Math.min(state.commas, Math.max(0, last)) };
  }
  const signatures = instructionSignatures(name);
  if (signatures.length === 0) return null;
  // The active form: the first with room for the operand being typed whose earlier operands fit what is written.
  const done = writtenOperands(operands).slice(0, state.commas);
  const paramText = (sig: SignatureInformation, n: number): string => {
    const label = sig.parameters![n]!.label as [number, number];
    return sig.label.slice(label[0], label[1]);
  };
  const roomy = (sig: SignatureInformation) => (sig.parameters?.length ?? 0) > state.commas;
  const fits = (sig: SignatureInformation) => roomy(sig) && done.every((w, n) => operandFits(w, paramText(sig, n)));
  // Prefer the general forms over the accumulator and moffs short forms the assembler picks by itself.
  const general = (sig: SignatureInformation) => sig.parameters!.every((_, n) => !/^(moffs|eax\/ax$|al$)/.test(paramText(sig, n)));
  let active = signatures.findIndex((sig) => fits(sig) && general(sig));
  if (active < 0) active = signatures.findIndex(fits);
  if (active < 0) active = signatures.findIndex(roomy);
  return { signatures, activeSignature: Math.max(0, active), activeParameter: state.commas };
}
