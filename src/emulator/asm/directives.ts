// Assembler directives executed in every pass: section/segment, bits/use16/use32, org, global/extern,
// absolute, align/alignb/sectalign, struc/endstruc/istruc/at/iend, incbin, and the ignored cpu/default.
// NASM manual chapter 7 (directives), 5.9-5.11 (standard macros align, struc, istruc), 8.1 (bin), 8.9 (elf).
import type { Assembler } from './assembler';
import { LineOrigin } from './diagnostics';
import { AsmError, ExprParser } from './expressionParser';
import { Token } from './lexer';
import { Body, parseBody } from './parser';
import { alignUp } from './sections';

type Directive = Extract<Body, { k: 'dir' }>;

export function executeDirective(asm: Assembler, body: Directive, origin: LineOrigin): void {
  try {
    run(asm, body, origin);
  } catch (e) {
    if (e instanceof AsmError) asm.error(origin, e.start, e.end, e.message);
    else throw e;
  }
}

function argText(body: Directive): string {
  const t = body.tokens;
  const first = t[body.argStart]!;
  const last = t[t.length - 1]!;
  return first.kind === 'end' ? '' : `${first.start}:${last.start}`;
}

function words(body: Directive): Token[] {
  return body.tokens.slice(body.argStart, body.tokens.length - 1);
}

function expression(asm: Assembler, body: Directive, origin: LineOrigin, pos = body.argStart): { value: number; known: boolean; next: number } | undefined {
  const p = new ExprParser(body.tokens, pos);
  const node = p.parse();
  const v = asm.evaluate(node, origin);
  if (!v) return undefined;
  if (v.base !== 0) throw new AsmError(`\`${body.name}' needs a constant value`, body.start, body.end);
  return { value: v.n, known: v.known, next: p.pos };
}

function run(asm: Assembler, body: Directive, origin: LineOrigin): void {
  const args = words(body);
  switch (body.name) {
    case 'section':
    case 'segment':
      return selectSection(asm, body, args, origin);
    case 'bits': {
      const e = expression(asm, body, origin);
      if (!e) return;
      if (e.value !== 16 && e.value !== 32) throw new AsmError(e.value === 64 ? '`bits 64\' is not supported: HyperStep targets IA-32' : `\`${e.value}' is not a valid segment size; must be 16 or 32`, body.start, body.end);
      asm.bits = e.value;
      return;
    }
    case 'use16':
    case 'use32':
      asm.bits = body.name === 'use16' ? 16 : 32;
      return;
    case 'org': {
      if (asm.format !== 'bin') throw new AsmError('unrecognized directive [org]', body.start, body.end);
      const e = expression(asm, body, origin);
      if (!e) return;
      if (asm.orgSet && asm.pass === 1 && e.value !== asm.org) throw new AsmError('program origin redefined', body.start, body.end);
      asm.org = e.value;
      asm.orgSet = true;
      return;
    }
    case 'global':
    case 'static':
      for (const t of args) {
        if (t.kind !== 'ident') continue;
        const name = asm.qualify(t.text.startsWith('$') ? t.text.slice(1) : t.text);
        if (body.name === 'global') asm.globalsDeclared.set(name, origin);
      }
      return;
    case 'extern':
    case 'common':
      if (body.name === 'common') throw new AsmError('`common\' is not supported by HyperStep', body.start, body.end);
      for (const t of args) {
        if (t.kind !== 'ident' || t.text.includes(':')) continue;
        const name = t.text.startsWith('$') ? t.text.slice(1) : t.text;
        const existing = asm.symbols.get(name);
        if (existing && existing.kind !== 'extern' && existing.definedPass > 0) {
          if (asm.pass === 1) asm.warning(origin, t.start, t.end, `symbol \`${name}' declared both as extern and defined [-w+other]`);
          continue;
        }
        if (asm.format === 'bin') {
          throw new AsmError(`binary format does not support external references (\`${name}')`, t.start, t.end);
        }
        asm.defineSymbol(name, 'extern', -1, 0, 0, true, origin, t.start, t.end);
        const sym = asm.symbols.get(name)!;
        if (sym.externIndex < 0) {
          sym.externIndex = asm.externs.length;
          asm.externs.push(sym);
        }
      }
      return;
    case 'absolute': {
      const e = expression(asm, body, origin);
      if (!e) return;
      if (!asm.absolute) asm.savedSection = asm.current;
      asm.absolute = { value: e.value };
      asm.strucName = '';
      return;
    }
    case 'align':
    case 'alignb':
      return align(asm, body, origin);
    case 'sectalign': {
      const e = expression(asm, body, origin);
      if (e && !asm.absolute) raiseAlignment(asm, e.value, body);
      return;
    }
    case 'struc': {
      const name = args[0];
      if (!name || name.kind !== 'ident') throw new AsmError('`struc\' expects a structure name', body.start, body.end);
      // `struc name, offset` starts the fields at `offset`; the size still counts from there.
      let startOffset = 0;
      if (args[1]?.text === ',') {
        const e = expression(asm, body, origin, body.argStart + 2);
        if (e) startOffset = e.value;
      }
      if (!asm.absolute) asm.savedSection = asm.current;
      asm.lastGlobal = '';
      asm.absolute = { value: startOffset };
      asm.strucStart = startOffset;
      asm.defineLabel(name.text, origin, name.start, name.end, false);
      asm.strucName = asm.qualify(name.text);
      return;
    }
    case 'endstruc': {
      if (!asm.absolute || !asm.strucName) throw new AsmError('`endstruc\' without `struc\'', body.start, body.end);
      asm.defineSymbol(`${asm.strucName}_size`, 'equ', -1, asm.absolute.value - asm.strucStart, 0, true, origin, body.start, body.end);
      asm.absolute = undefined;
      asm.strucName = '';
      // NASM's endstruc ends with __SECT__, which re-selects (and so creates) the previous section.
      if (asm.savedSection) asm.current = asm.savedSection;
      asm.markUsed(asm.current);
      return;
    }
    case 'istruc': {
      const name = args[0];
      if (!name || name.kind !== 'ident') throw new AsmError('`istruc\' expects a structure name', body.start, body.end);
      const startLabel = args[1];
      if (startLabel && startLabel.kind === 'ident' && startLabel.text.startsWith('..@')) asm.defineLabel(startLabel.text, origin, name.start, name.end, false);
      asm.istrucStack.push({ name: name.text, start: asm.here().n, origin });
      return;
    }
    case 'at': {
      const top = asm.istrucStack[asm.istrucStack.length - 1];
      if (!top) throw new AsmError('`at\' outside `istruc\'', body.start, body.end);
      const p = new ExprParser(body.tokens, body.argStart);
      const node = p.parse();
      const v = asm.evaluate(node, origin);
      if (!v) return;
      const gap = v.n - (asm.cursor() - top.start);
      if (gap < 0) throw new AsmError(`TIMES value ${gap} is negative`, body.start, body.end);
      asm.advance(gap, 0, origin, body.start, body.end, false);
      asm.markStatementStart();
      if (body.tokens[p.pos]!.text === ',') asm.executeBody(parseBody(body.tokens as Token[], p.pos + 1), origin);
      return;
    }
    case 'iend': {
      const top = asm.istrucStack.pop();
      if (!top) throw new AsmError('`iend\' without `istruc\'', body.start, body.end);
      const size = asm.evalContext.lookup(`${top.name}_size`, body.start, body.end);
      if (!size) {
        if (asm.strict) throw new AsmError(`symbol \`${top.name}_size' not defined`, body.start, body.end);
        return;
      }
      const gap = size.n - (asm.cursor() - top.start);
      if (gap < 0) throw new AsmError(`TIMES value ${gap} is negative`, body.start, body.end);
      asm.advance(gap, 0, origin, body.start, body.end, false);
      return;
    }
    case 'incbin':
      return incbin(asm, body, args, origin);
    case 'cpu':
    case 'default':
    case 'list':
    case 'nolist':
    case 'warning':
      return;
    default:
      throw new AsmError(`unrecognized directive [${body.name}]`, body.start, body.end);
  }
}

function selectSection(asm: Assembler, body: Directive, args: Token[], origin: LineOrigin): void {
  const first = args[0];
  if (!first) throw new AsmError('section name expected', body.start, body.end);
  // The name runs up to the first blank-separated attribute; NASM allows names like `.text.boot`.
  let name = first.kind === 'string' ? String.fromCharCode(...first.bytes!) : first.text;
  let k = 1;
  while (k < args.length && args[k]!.start === args[k - 1]!.end && args[k]!.text !== '=') {
    name += args[k]!.text;
    k++;
  }
  void argText;
  const section = asm.sectionNamed(name, true);
  if (asm.absolute) asm.absolute = undefined;
  asm.strucName = '';
  asm.current = section;
  for (; k < args.length; k++) {
    const attr = args[k]!.text.toLowerCase();
    if (args[k + 1]?.text === '=') {
      const p = new ExprParser(body.tokens, body.argStart + k + 2);
      const valueToken = body.tokens[body.argStart + k + 2]!;
      if (attr === 'follows' || attr === 'vfollows') {
        if (attr === 'follows') section.follows = valueToken.text;
        else section.vfollows = valueToken.text;
        k += 2;
        continue;
      }
      const node = p.parse();
      const v = asm.evaluate(node, origin);
      k = p.pos - body.argStart - 1;
      if (!v) continue;
      if (attr === 'align') {
        if (!isPowerOfTwo(v.n)) throw new AsmError(`section alignment ${v.n} is not a power of two`, body.start, body.end);
        if (asm.pass === 1 && !section.explicitAlign) section.align = v.n;
        else section.align = Math.max(section.align, v.n);
        section.explicitAlign = true;
      } else if (attr === 'start') section.start = v.n;
      else if (attr === 'vstart') section.vstart = v.n;
      else if (asm.pass === 1) asm.warning(origin, args[k]!.start, args[k]!.end, `unknown section attribute \`${attr}' ignored`);
      continue;
    }
    switch (attr) {
      case 'progbits':
        section.progbits = true;
        break;
      case 'nobits':
        section.progbits = false;
        break;
      case 'alloc':
      case 'noalloc':
        section.alloc = attr === 'alloc';
        break;
      case 'exec':
      case 'noexec':
        section.exec = attr === 'exec';
        break;
      case 'write':
      case 'nowrite':
        section.write = attr === 'write';
        break;
      default:
        if (asm.pass === 1) asm.warning(origin, args[k]!.start, args[k]!.end, `unknown section attribute \`${attr}' ignored`);
    }
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && n <= 0x40000000 && (n & (n - 1)) === 0;
}

function raiseAlignment(asm: Assembler, value: number, body: Directive): void {
  if (!isPowerOfTwo(value)) throw new AsmError('alignment must be a power of two', body.start, body.end);
  if (asm.current.align < value) asm.current.align = value;
}

/**
 * `align n[, fill]` pads with NOPs (or the given instruction/data) and `alignb n` reserves space, both to
 * a multiple of n from the section start; both raise the section's own alignment (NASM's default
 * `sectalign on`, manual 5.10.1).
 */
function align(asm: Assembler, body: Directive, origin: LineOrigin): void {
  const e = expression(asm, body, origin);
  if (!e) return;
  const n = e.value;
  if (!isPowerOfTwo(n)) throw new AsmError('alignment must be a power of two', body.start, body.end);
  if (!asm.absolute) raiseAlignment(asm, n, body);
  const offset = asm.absolute ? asm.absolute.value : asm.here().n - asm.sectionStart().n;
  const gap = alignUp(offset, n) - offset;
  if (gap === 0) return;
  const fillStart = e.next;
  if (body.name === 'align' && body.tokens[fillStart]!.text === ',') {
    const inner = parseBody(body.tokens as Token[], fillStart + 1);
    const target = offset + gap;
    for (let guard = 0; guard < gap; guard++) {
      const now = asm.cursor() - asm.sectionStart().n;
      asm.markStatementStart();
      if (now >= target) break;
      asm.executeBody(inner, origin);
    }
    return;
  }
  const nobits = asm.absolute !== undefined || !asm.current.progbits;
  asm.advance(gap, body.name === 'align' && !nobits ? 0x90 : 0, origin, body.start, body.end, false);
}

function incbin(asm: Assembler, body: Directive, args: Token[], origin: LineOrigin): void {
  const file = args[0];
  if (!file || file.kind !== 'string') throw new AsmError('`incbin\' expects a file name', body.start, body.end);
  const name = String.fromCharCode(...file.bytes!);
  const data = asm.readBinary(name, origin.expansion?.file ?? origin.file);
  if (!data) throw new AsmError(`\`incbin': unable to open file \`${name}'`, file.start, file.end);
  let skip = 0;
  let count = data.length;
  let pos = body.argStart + 1;
  if (body.tokens[pos]!.text === ',') {
    const e = expression(asm, body, origin, pos + 1);
    if (!e) return;
    skip = Math.max(0, e.value);
    pos = e.next;
    if (body.tokens[pos]!.text === ',') {
      const c = expression(asm, body, origin, pos + 1);
      if (!c) return;
      count = c.value;
    }
  }
  const slice = data.subarray(skip, Math.min(data.length, skip + Math.max(0, count)));
  if (asm.absolute) {
    asm.absolute.value += slice.length;
    return;
  }
  asm.markUsed(asm.current);
  asm.current.writeBytes(slice);
}
