// The NASM preprocessor (manual chapter 4): %define/%xdefine/%idefine/%undef/%assign, multi-line %macro
// with parameters, %rep, %include, the %if family, the context stack and string functions. It turns
// source files into a flat list of lines, each remembering where it came from (file, line, and the
// macro body line for expansions).
// Every recursion is bounded (macro depth, include depth, %rep output), so no input can loop forever.
import { DiagnosticSink, LineOrigin } from './diagnostics';
import { AsmError, evaluate, parseExpression, Value } from './expressions';
import { ContextStack, stringFunction } from './contextStack';
import { tokenize } from './lexer';
import { dirname, joinPath } from './paths';
import { expandSingleLineMacros, SingleLineMacro } from './singleLineMacros';

export interface SourceLine {
  readonly text: string;
  readonly origin: LineOrigin;
  /** The line as written, when single-line macro expansion changed it (for the listing). */
  readonly written?: string;
  /** A preprocessor directive line kept only so the listing shows it, as NASM's does. */
  readonly listOnly?: boolean;
}

export interface PreprocessOptions {
  readonly includePaths: readonly string[];
  readonly defines: Readonly<Record<string, string>>;
  readonly readFile: (absPath: string) => string | undefined;
}

interface MultiLineMacro {
  readonly name: string;
  readonly minParams: number;
  readonly maxParams: number;
  readonly greedy: boolean;
  readonly defaults: readonly string[];
  readonly body: readonly SourceLine[];
  readonly caseInsensitive: boolean;
  /** Defined with %rmacro: may call itself (a plain %macro is not expanded inside itself, as in NASM). */
  readonly recursive: boolean;
}

const MAX_MACRO_DEPTH = 200;

/** How many unique-label numbers each directive NASM implements as a standard macro consumes. */
const STANDARD_MACRO_COST: Readonly<Record<string, number>> = {
  section: 1, segment: 1, bits: 1, use16: 1, use32: 1, global: 1, extern: 1, static: 1, common: 1, cpu: 1,
  default: 1, sectalign: 1, absolute: 1, at: 1, endstruc: 1, iend: 1, align: 2, alignb: 2, struc: 2, istruc: 2,
};
/** True for a directive NASM implements as a standard macro (it consumes unique-label numbers). */
export function isStandardMacroDirective(word: string): boolean {
  return STANDARD_MACRO_COST[word.toLowerCase()] !== undefined;
}
const MAX_INCLUDE_DEPTH = 64;
/** Upper bound on preprocessed lines: %rep 1000000 of a macro calling a %rep cannot exhaust memory. */
const MAX_OUTPUT_LINES = 1_000_000;

/** Splits source text into lines with their origins; handles `\` line continuation. */
export function splitSource(file: string, text: string): SourceLine[] {
  const raw = text.split('\n');
  const out: SourceLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const firstLine = i + 1;
    while (line.endsWith('\\') && i + 1 < raw.length) {
      let next = raw[++i]!;
      if (next.endsWith('\r')) next = next.slice(0, -1);
      line = line.slice(0, -1) + next;
    }
    out.push({ text: line, origin: { file, line: firstLine } });
  }
  if (out.length > 0 && out[out.length - 1]!.text === '' && text.endsWith('\n')) out.pop();
  return out;
}

/** Removes a `;` comment (outside quotes) and trailing blanks. */
export function stripComment(text: string): string {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (quote === '`' && c === '\\') i++;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === ';') return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** The parameters of the macro call being expanded (NASM counts supplied defaults in %0 too). */
interface MacroFrame {
  params: string[];
  readonly unique: number;
  readonly name: string;
  /** The label written before the call (`%00`, NASM manual 4.3.12), '' if none. */
  readonly label: string;
}


interface ConditionalState {
  /** Some branch of this %if has already been taken. */
  taken: boolean;
  /** Lines are currently being emitted. */
  active: boolean;
  /** Inside an enclosing inactive region: nothing in this %if is ever emitted. */
  parentInactive: boolean;
  sawElse: boolean;
}

export class Preprocessor {
  readonly output: SourceLine[] = [];
  private readonly singles = new Map<string, SingleLineMacro>();
  private readonly singlesInsensitive = new Map<string, SingleLineMacro>();
  private readonly multis = new Map<string, MultiLineMacro[]>();
  private uniqueCounter = 0;
  /** Number of %exitrep/%exitmacro markers emitted so far (expansions scan for one only if it grew). */
  private exitMarkers = 0;
  private readonly activeMacros = new Set<MultiLineMacro>();
  private macroDepth = 0;
  private includeDepth = 0;
  /** Set when the output limit was hit: the result is truncated and not worth assembling. */
  outputOverflowReported = false;
  /** Files read, with their text, so a host can cache them and the listing can show their lines. */
  readonly files = new Map<string, readonly SourceLine[]>();
  /** Raw text of every %include file read (an incremental re-run checks they did not change). */
  readonly includeTexts = new Map<string, string | undefined>();
  /**
   * For each line of the main file handled as an ordinary top-level line: the index of its output line,
   * or -1 when it sat in an inactive %if branch. Other lines (directives, macro calls, lines inside
   * %rep/%macro bodies) are absent. Read by incremental.ts to patch one edited line without re-running.
   */
  readonly topLevelLines = new Map<number, number>();
  /** Every single-line and multi-line macro name ever defined (lower case). */
  readonly namesEverDefined = new Set<string>();
  private mainLines: readonly SourceLine[] | undefined;
  private blockDepth = 0;

  constructor(private readonly options: PreprocessOptions, private readonly sink: DiagnosticSink) {
    for (const [name, value] of Object.entries(options.defines)) {
      this.namesEverDefined.add(name.toLowerCase());
      this.singles.set(name, { name, params: undefined, body: value, caseInsensitive: false });
    }
  }

  run(path: string, text: string): SourceLine[] {
    const lines = splitSource(path, text);
    this.files.set(path, lines);
    this.mainLines = lines;
    this.processLines(lines, undefined);
    return this.output;
  }

  private error(origin: LineOrigin, message: string, column = 1, endColumn = column): void {
    this.sink.report('error', origin, column, endColumn, message);
  }

  private emit(line: SourceLine): void {
    if (this.output.length >= MAX_OUTPUT_LINES) {
      if (!this.outputOverflowReported) {
        this.outputOverflowReported = true;
        this.error(line.origin, `preprocessor output exceeds ${MAX_OUTPUT_LINES} lines (runaway %rep or macro?)`);
      }
      return;
    }
    this.output.push(line);
  }

  /**
   * Processes a block of lines (a file, a macro expansion or a %rep body). `macroContext` is set when the
   * block is a macro expansion; conditionals must balance within one block, as in NASM.
   */
  private processLines(lines: readonly SourceLine[], frame: MacroFrame | undefined): void {
    this.blockDepth++;
    this.processBlock(lines, frame, this.blockDepth === 1 && lines === this.mainLines);
    this.blockDepth--;
  }

  private processBlock(lines: readonly SourceLine[], frame: MacroFrame | undefined, topLevel: boolean): void {
    const conditionals: ConditionalState[] = [];
    let i = 0;
    while (i < lines.length) {
      if (this.outputOverflowReported) return;
      // Macro parameters are substituted when a body line is reached, so %rotate affects later lines.
      const raw = lines[i]!;
      const active = conditionals.length === 0 || conditionals[conditionals.length - 1]!.active;
      let line = frame && raw.text.includes('%') ? { text: substituteParameters(raw.text, frame.params, frame.params.length, frame.unique, frame.label), origin: raw.origin } : raw;
      if (line.text.includes('%$')) {
        const origin = line.origin;
        line = { text: this.contexts.substitute(line.text, active ? (message) => this.error(origin, message) : undefined), origin };
      }
      const text = line.text;
      const trimmed = text.trimStart();
      if (!trimmed.startsWith('%')) {
        i++;
        if (!active) {
          if (topLevel) this.topLevelLines.set(raw.origin.line, -1);
          continue;
        }
        const before = this.output.length;
        this.processOrdinaryLine(line);
        if (topLevel && this.output.length === before + 1 && this.output[before] === line) this.topLevelLines.set(raw.origin.line, before);
        continue;
      }
      const directiveMatch = /^%([A-Za-z]+)\b/.exec(trimmed);
      const directive = directiveMatch ? directiveMatch[1]!.toLowerCase() : '';
      if (active && directive !== 'exitrep' && directive !== 'exitmacro') this.emit({ text: raw.text, origin: raw.origin, listOnly: true });
      const column = text.length - trimmed.length + 1;
      const rest = directiveMatch ? stripComment(trimmed.slice(directiveMatch[0].length)).trim() : '';

      // Conditionals are tracked even while inactive.
      if (/^(if|ifn)(def|ndef|idn|idni|empty|num|str|id|macro|ctx)?$/.test(directive) || directive === 'if' || directive === 'ifn') {
        i++;
        const parentInactive = !active;
        const result = parentInactive ? false : this.evaluateCondition(directive.replace(/^if/, ''), rest, line, column);
        conditionals.push({ taken: result, active: result, parentInactive, sawElse: false });
        continue;
      }
      if (/^elif(n)?(def|ndef|idn|idni|empty|num|str|id|macro|ctx)?$/.test(directive)) {
        i++;
        const top = conditionals[conditionals.length - 1];
        if (!top) {
          this.error(line.origin, `\`%${directive}': no matching \`%if'`, column);
          continue;
        }
        if (top.parentInactive || top.taken) {
          top.active = false;
          continue;
        }
        const result = this.evaluateCondition(directive.replace(/^elif/, ''), rest, line, column);
        top.active = result;
        top.taken = result;
        continue;
      }
      if (directive === 'else') {
        i++;
        const top = conditionals[conditionals.length - 1];
        if (!top) {
          this.error(line.origin, "`%else': no matching `%if'", column);
          continue;
        }
        if (top.sawElse) this.sink.report('warning', line.origin, column, column, '`%else\' after `%else\' ignored');
        top.sawElse = true;
        top.active = !top.parentInactive && !top.taken;
        top.taken = true;
        continue;
      }
      if (directive === 'endif') {
        i++;
        if (!conditionals.pop()) this.error(line.origin, "`%endif': no matching `%if'", column);
        continue;
      }
      if (directive === 'macro' || directive === 'imacro' || directive === 'rmacro' || directive === 'irmacro') {
        const end = this.findBlockEnd(lines, i, /^%i?r?macro$/, /^%endm(acro)?$/);
        if (end < 0) {
          this.error(line.origin, 'end of file while still defining macro', column);
          return;
        }
        if (active) this.defineMacro(rest, lines.slice(i + 1, end), line, column, directive.startsWith('i'), directive.includes('r'));
        i = end + 1;
        continue;
      }
      if (directive === 'rep') {
        const end = this.findBlockEnd(lines, i, /^%rep$/, /^%endrep$/);
        if (end < 0) {
          this.error(line.origin, 'end of file while still in %rep block', column);
          return;
        }
        if (active) this.expandRep(rest, lines.slice(i + 1, end), line, column, frame);
        i = end + 1;
        continue;
      }
      i++;
      if (!active) continue;
      this.processDirective(directive, rest, line, column, frame);
    }
    if (conditionals.length > 0) {
      const last = lines[lines.length - 1];
      if (last) this.error(last.origin, 'expected `%endif\' before end of file');
    }
  }

  /** Index of the line closing the block opened at `start`, honouring nesting; -1 if none. */
  private findBlockEnd(lines: readonly SourceLine[], start: number, open: RegExp, close: RegExp): number {
    let depth = 0;
    for (let k = start; k < lines.length; k++) {
      const word = /^\s*(%[A-Za-z]+)/.exec(lines[k]!.text);
      if (!word) continue;
      const w = word[1]!.toLowerCase();
      if (open.test(w)) depth++;
      else if (close.test(w) && --depth === 0) return k;
    }
    return -1;
  }

  private processDirective(directive: string, rest: string, line: SourceLine, column: number, frame: MacroFrame | undefined): void {
    switch (directive) {
      case 'define':
      case 'idefine':
      case 'xdefine':
      case 'ixdefine':
        this.defineSingle(rest, line, column, directive.startsWith('i'), directive.includes('x'));
        return;
      case 'undef': {
        const name = rest.split(/\s+/)[0] ?? '';
        this.singles.delete(name);
        this.singlesInsensitive.delete(name.toLowerCase());
        return;
      }
      case 'assign':
      case 'iassign': {
        const m = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*(.*)$/.exec(rest);
        if (!m) {
          this.error(line.origin, '`%assign\' expects a macro identifier', column);
          return;
        }
        const value = this.evaluateConstant(m[2]!, line, column);
        if (value === undefined) return;
        const macro: SingleLineMacro = { name: m[1]!, params: undefined, body: String(value), caseInsensitive: directive === 'iassign' };
        this.namesEverDefined.add(macro.name.toLowerCase());
        if (macro.caseInsensitive) this.singlesInsensitive.set(macro.name.toLowerCase(), macro);
        else this.singles.set(macro.name, macro);
        return;
      }
      case 'unmacro':
      case 'unimacro': {
        const name = rest.split(/\s+/)[0] ?? '';
        this.multis.delete(name.toLowerCase());
        return;
      }
      case 'include':
        this.include(rest, line, column);
        return;
      case 'error':
      case 'fatal':
        this.error(line.origin, this.expand(rest, line).replace(/^["'`](.*)["'`]$/, '$1'), column);
        return;
      case 'warning':
        this.sink.report('warning', line.origin, column, column, this.expand(rest, line).replace(/^["'`](.*)["'`]$/, '$1'));
        return;
      case 'endmacro':
      case 'endm':
        this.error(line.origin, '`%endmacro\': not defining a macro', column);
        return;
      case 'endrep':
        this.error(line.origin, '`%endrep\': no matching `%rep\'', column);
        return;
      case 'exitrep':
      case 'exitmacro':
        // Handled by the expansion loops through the marker line.
        this.exitMarkers++;
        this.emit({ text: `%${directive}`, origin: line.origin });
        return;
      case 'line':
      case 'pragma':
        return;
      case 'push':
      case 'pop':
      case 'repl':
        this.contextDirective(directive, rest, line, column);
        return;
      case 'strlen':
      case 'substr':
      case 'strcat':
        this.stringDirective(directive, rest, line, column);
        return;
      case 'rotate': {
        if (!frame) {
          this.error(line.origin, '`%rotate\' invoked outside a macro call', column);
          return;
        }
        const n = this.evaluateConstant(rest, line, column);
        const count = frame.params.length;
        if (n === undefined || count === 0) return;
        const shift = ((n % count) + count) % count;
        frame.params = [...frame.params.slice(shift), ...frame.params.slice(0, shift)];
        return;
      }
      default:
        this.error(line.origin, `unknown preprocessor directive \`%${directive}'`, column, column + directive.length + 1);
    }
  }

  private readonly contexts = new ContextStack();

  private contextDirective(directive: 'push' | 'pop' | 'repl', rest: string, line: SourceLine, column: number): void {
    const name = this.expand(rest, line).trim().split(/\s+/)[0] ?? '';
    const error = this.contexts.directive(directive, name, () => this.uniqueCounter++);
    if (error !== undefined) this.error(line.origin, error, column);
  }

  /** %strlen / %substr / %strcat: define a macro from string arguments (contextStack.ts). */
  private stringDirective(directive: 'strlen' | 'substr' | 'strcat', rest: string, line: SourceLine, column: number): void {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*(.*)$/.exec(rest);
    if (!m) {
      this.error(line.origin, `\`%${directive}' expects a macro identifier`, column);
      return;
    }
    const args = splitMacroArguments(this.expand(m[2]!, line));
    const result = stringFunction(directive, args, (text) => this.evaluateConstant(text, line, column));
    if (!result) return;
    if ('error' in result) {
      this.error(line.origin, result.error, column);
      return;
    }
    const macro: SingleLineMacro = { name: m[1]!, params: undefined, body: result.body, caseInsensitive: false };
    this.namesEverDefined.add(macro.name.toLowerCase());
    this.singles.set(macro.name, macro);
  }

  private defineSingle(rest: string, line: SourceLine, column: number, caseInsensitive: boolean, expandNow: boolean): void {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)(\(([^)]*)\))?\s*(.*)$/.exec(rest);
    if (!m) {
      this.error(line.origin, '`%define\' expects a macro identifier', column);
      return;
    }
    const params = m[2] !== undefined ? m[3]!.split(',').map((p) => p.trim()).filter((p) => p !== '') : undefined;
    let body = m[4]!;
    if (expandNow) body = this.expand(body, line);
    const macro: SingleLineMacro = { name: m[1]!, params, body, caseInsensitive };
    this.namesEverDefined.add(macro.name.toLowerCase());
    if (caseInsensitive) this.singlesInsensitive.set(macro.name.toLowerCase(), macro);
    else this.singles.set(macro.name, macro);
  }

  /** Expands single-line macros in a line of text, then pastes tokens joined by `%+` (NASM manual 4.1.4). */
  expand(text: string, line: SourceLine): string {
    const expanded = this.singles.size === 0 && this.singlesInsensitive.size === 0 && !text.includes('__')
      ? text
      : expandSingleLineMacros(text, this.singles, this.singlesInsensitive, line.origin, (message) => this.error(line.origin, message));
    return expanded.includes('%+') ? pasteTokens(expanded) : expanded;
  }

  private evaluateConstant(expression: string, line: SourceLine, column: number): number | undefined {
    const text = this.expand(expression, line);
    try {
      const tokens = tokenize(text);
      const node = parseExpression(tokens);
      const v: Value = evaluate(node, {
        strict: true,
        lookup: () => undefined,
        here: () => {
          throw new AsmError('non-constant value given to preprocessor directive', 0, text.length);
        },
        sectionStart: () => {
          throw new AsmError('non-constant value given to preprocessor directive', 0, text.length);
        },
      });
      return v.n;
    } catch (e) {
      if (e instanceof AsmError) {
        const message = /^symbol `/.test(e.message) ? `${e.message} (non-constant value in preprocessor expression)` : e.message;
        this.error(line.origin, message, column, column + expression.length);
        return undefined;
      }
      throw e;
    }
  }

  private evaluateCondition(kind: string, rest: string, line: SourceLine, column: number): boolean {
    let negate = false;
    if (kind.startsWith('n') && kind !== 'num' && kind !== 'ndef') {
      negate = true;
      kind = kind.slice(1);
    }
    let result: boolean;
    switch (kind) {
      case '':
        result = (this.evaluateConstant(rest, line, column) ?? 0) !== 0;
        break;
      case 'def':
      case 'ndef': {
        const name = rest.trim();
        const defined = this.singles.has(name) || this.singlesInsensitive.has(name.toLowerCase());
        result = kind === 'def' ? defined : !defined;
        break;
      }
      case 'macro':
        result = this.multis.has(rest.trim().split(/\s+/)[0]!.toLowerCase());
        break;
      case 'ctx': {
        // True when the top context has any of the names given (NASM manual 4.7.4).
        const top = this.contexts.topName;
        result = top !== undefined && rest.split(/[\s,]+/).filter((w) => w !== '').includes(top);
        break;
      }
      case 'idn':
      case 'idni': {
        const parts = splitMacroArguments(this.expand(rest, line));
        const a = (parts[0] ?? '').replace(/\s+/g, '');
        const b = (parts[1] ?? '').replace(/\s+/g, '');
        result = kind === 'idn' ? a === b : a.toLowerCase() === b.toLowerCase();
        break;
      }
      case 'empty':
        result = this.expand(rest, line).trim() === '';
        break;
      case 'num':
        result = /^\s*[0-9$][\w$]*\s*$/.test(this.expand(rest, line));
        break;
      case 'str':
        result = /^\s*(["'`]).*\1\s*$/.test(this.expand(rest, line));
        break;
      case 'id':
        result = /^\s*[A-Za-z_.?@$][\w$#@~.?]*\s*$/.test(this.expand(rest, line));
        break;
      default:
        this.error(line.origin, `unknown preprocessor directive \`%if${kind}'`, column);
        result = false;
    }
    return negate ? !result : result;
  }

  private include(rest: string, line: SourceLine, column: number): void {
    const expanded = this.expand(rest, line).trim();
    const m = /^(?:"([^"]*)"|'([^']*)'|<([^>]*)>|`([^`]*)`)$/.exec(expanded);
    const name = m ? (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '') : expanded;
    if (name === '') {
      this.error(line.origin, '`%include\' expects a file name', column);
      return;
    }
    if (this.includeDepth >= MAX_INCLUDE_DEPTH) {
      this.error(line.origin, `%include nested too deeply (more than ${MAX_INCLUDE_DEPTH} levels)`, column);
      return;
    }
    const includingFile = line.origin.expansion?.file ?? line.origin.file;
    const candidates = [joinPath(dirname(includingFile), name), ...this.options.includePaths.map((dir) => joinPath(dir, name)), name];
    for (const candidate of candidates) {
      let lines = this.files.get(candidate);
      if (!lines) {
        let text: string | undefined;
        try {
          text = this.options.readFile(candidate);
        } catch {
          text = undefined;
        }
        this.includeTexts.set(candidate, text);
        if (text === undefined) continue;
        lines = splitSource(candidate, text);
        this.files.set(candidate, lines);
      }
      this.includeDepth++;
      this.processLines(lines, undefined);
      this.includeDepth--;
      return;
    }
    this.error(line.origin, `unable to open include file \`${name}'`, column, column + rest.length + 8);
  }

  private defineMacro(rest: string, body: readonly SourceLine[], line: SourceLine, column: number, caseInsensitive: boolean, recursive: boolean): void {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*(?:(\d+)(?:\s*-\s*(\d+|\*))?(\+)?)?\s*(?:\.nolist)?\s*(.*)$/.exec(rest);
    if (!m || m[2] === undefined) {
      this.error(line.origin, '`%macro\' expects a macro identifier and a parameter count', column);
      return;
    }
    const minParams = Number(m[2]);
    const maxParams = m[3] === undefined ? minParams : m[3] === '*' ? Infinity : Number(m[3]);
    const defaults = m[5] ? splitMacroArguments(m[5]) : [];
    const macro: MultiLineMacro = { name: m[1]!, minParams, maxParams, greedy: m[4] === '+', defaults, body, caseInsensitive, recursive };
    this.namesEverDefined.add(macro.name.toLowerCase());
    const key = macro.name.toLowerCase();
    const list = (this.multis.get(key) ?? []).filter((x) => !(x.minParams === minParams && x.maxParams === maxParams));
    list.push(macro);
    this.multis.set(key, list);
  }

  /** Index of an %exitrep/%exitmacro marker emitted since `mark`, or -1. */
  private findMarker(mark: number, marker: string, markersBefore: number): number {
    if (this.exitMarkers === markersBefore) return -1;
    for (let k = mark; k < this.output.length; k++) if (this.output[k]!.text === marker) return k;
    return -1;
  }

  private expandRep(rest: string, body: readonly SourceLine[], line: SourceLine, column: number, frame: MacroFrame | undefined): void {
    const count = this.evaluateConstant(rest, line, column);
    if (count === undefined) return;
    if (count < 0) {
      this.error(line.origin, `invalid repeat count ${count}`, column);
      return;
    }
    for (let k = 0; k < count; k++) {
      if (this.outputOverflowReported) return;
      const mark = this.output.length;
      const markersBefore = this.exitMarkers;
      this.processLines(body, frame);
      const exit = this.findMarker(mark, '%exitrep', markersBefore);
      if (exit >= 0) {
        this.output.length = exit;
        return;
      }
    }
  }

  /** An ordinary line: expand single-line macros, then expand a multi-line macro call if it is one. */
  private processOrdinaryLine(line: SourceLine): void {
    let text = this.expand(line.text, line);
    if (this.multis.size > 0) {
      // `label: macro args` defines the label, then expands the macro (as NASM does).
      const labelled = text.includes(':') ? /^(\s*[A-Za-z_.?@$][\w$#@~.?]*:)\s*([A-Za-z_.?@$][\w$#@~.?]*)(?=\s|$|;)/.exec(text) : null;
      let label = '';
      if (labelled && this.multis.has(labelled[2]!.toLowerCase())) {
        label = labelled[1]!.trim().slice(0, -1);
        text = text.slice(labelled[1]!.length);
      }
      const m = /^\s*([A-Za-z_.?@$][\w$#@~.?]*)(?=\s|$|;)\s*(.*)$/.exec(text);
      if (m) {
        const candidates = this.multis.get(m[1]!.toLowerCase());
        if (candidates) {
          const args = stripComment(m[2]!);
          const argList = args.trim() === '' ? [] : splitMacroArguments(args);
          const macro = candidates.find((c) => (c.caseInsensitive || c.name === m[1]) && (c.recursive || !this.activeMacros.has(c)) && argList.length >= c.minParams && (argList.length <= c.maxParams || c.greedy));
          if (macro) {
            // The label is defined at the call unless the body takes it as %00 (NASM manual 4.3.12).
            if (label !== '' && !macro.body.some((b) => b.text.includes('%00'))) this.emit({ text: `${label}:`, origin: line.origin });
            this.expandMacro(macro, argList, line, label);
            return;
          }
          if (candidates.some((c) => (c.caseInsensitive || c.name === m[1]) && (c.recursive || !this.activeMacros.has(c)))) {
            this.error(line.origin, `macro \`${m[1]}' exists, but not taking ${argList.length} parameters`, 1, text.length);
            return;
          }
        }
      }
    }
    const bumped = this.bumpForStandardMacro(text);
    this.emit(bumped === line.text ? line : { text: bumped, origin: line.origin, written: line.text });
  }

  /**
   * NASM implements many directives as standard macros (section, bits, global, align, struc, …); each
   * expansion (and each context %push inside struc/istruc) consumes a number from the counter behind
   * `%%label` names, so macro-local labels get NASM's exact `..@N.label` names. `istruc` gets its
   * context label appended, because NASM defines `..@N.strucstart` there.
   */
  private bumpForStandardMacro(text: string): string {
    const m = /^\s*(?:[A-Za-z_.?@$][\w$#@~.?]*:\s*)?([A-Za-z]+)\b/.exec(text);
    if (!m) return text;
    const word = m[1]!.toLowerCase();
    const cost = STANDARD_MACRO_COST[word];
    if (cost === undefined) return text;
    this.uniqueCounter += cost;
    if (word === 'istruc') return `${stripComment(text)} ..@${this.uniqueCounter - 1}.strucstart`;
    return text;
  }

  private expandMacro(macro: MultiLineMacro, args: string[], call: SourceLine, label: string): void {
    this.emit({ text: call.text, origin: call.origin, listOnly: true });
    if (this.macroDepth >= MAX_MACRO_DEPTH) {
      this.error(call.origin, `macro calls nested too deeply (more than ${MAX_MACRO_DEPTH} levels; infinite recursion?)`);
      // Fatal, as in NASM: stop preprocessing rather than let sibling calls recurse again.
      this.outputOverflowReported = true;
      return;
    }
    let params = args.slice();
    if (macro.greedy && params.length > macro.maxParams && Number.isFinite(macro.maxParams)) {
      // The last parameter takes the rest of the line, commas included (NASM manual 4.3.3).
      const head = params.slice(0, macro.maxParams - 1);
      head.push(params.slice(macro.maxParams - 1).join(','));
      params = head;
    }
    for (let k = params.length; k < macro.maxParams && k - macro.minParams < macro.defaults.length && Number.isFinite(macro.maxParams); k++) {
      params.push(macro.defaults[k - macro.minParams] ?? '');
    }
    const unique = this.uniqueCounter++;
    const baseOrigin = call.origin;
    const expanded: SourceLine[] = macro.body.map((bodyLine) => ({
      text: bodyLine.text,
      origin: {
        file: baseOrigin.file,
        line: baseOrigin.line,
        expansion: { macro: macro.name, file: bodyLine.origin.expansion?.file ?? bodyLine.origin.file, line: bodyLine.origin.expansion?.line ?? bodyLine.origin.line },
      },
    }));
    this.macroDepth++;
    this.activeMacros.add(macro);
    const mark = this.output.length;
    const markersBefore = this.exitMarkers;
    this.processLines(expanded, { params, unique, name: macro.name, label });
    this.activeMacros.delete(macro);
    const exit = this.findMarker(mark, '%exitmacro', markersBefore);
    if (exit >= 0) this.output.length = exit;
    this.macroDepth--;
  }
}

/** Splits macro call arguments on commas outside quotes and `{…}` groups (braces are removed). */
export function splitMacroArguments(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      current += c;
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      current += c;
    } else if (c === '{') {
      if (depth++ > 0) current += c;
    } else if (c === '}') {
      if (--depth > 0) current += c;
    } else if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += c;
  }
  out.push(current.trim());
  return out;
}

/** Joins the tokens on either side of each `%+` outside string literals: `exc_ %+ 3` → `exc_3`. */
export function pasteTokens(text: string): string {
  let out = '';
  let quote = '';
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quote !== '') {
      out += c;
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out += c;
    } else if (c === ';') {
      return out + text.slice(k);
    } else if (c === '%' && text[k + 1] === '+') {
      out = out.replace(/\s+$/, '');
      k += 1;
      while (text[k + 1] === ' ' || text[k + 1] === '\t') k++;
    } else out += c;
  }
  return out;
}

/** Condition codes and their inverses, for `%-N` (NASM manual 4.3.8). */
const INVERSE_CONDITIONS: Readonly<Record<string, string>> = {
  o: 'no', no: 'o', b: 'nb', nb: 'b', c: 'nc', nc: 'c', ae: 'nae', nae: 'ae', e: 'ne', ne: 'e', z: 'nz', nz: 'z',
  be: 'nbe', nbe: 'be', a: 'na', na: 'a', s: 'ns', ns: 's', p: 'np', np: 'p', pe: 'po', po: 'pe',
  l: 'nl', nl: 'l', ge: 'nge', nge: 'ge', le: 'nle', nle: 'le', g: 'ng', ng: 'g',
};

/** Replaces %0, %00, %N, %{N}, %+N/%-N, %%label and %+ in a macro body line (NASM manual 4.3). */
export function substituteParameters(text: string, params: readonly string[], given: number, unique: number, label = ''): string {
  if (!text.includes('%')) return text;
  let out = text.replace(/%%([A-Za-z_.?@$][\w$#@~.?]*)|%\{(-?\d+)\}|%([+-])(\d+)|%(\d+)/g, (all, local: string | undefined, braced: string | undefined, sign: string | undefined, cc: string | undefined, plain: string | undefined) => {
    if (local !== undefined) return `..@${unique}.${local}`;
    if (cc !== undefined) {
      // A condition-code parameter, inverted by `%-N`.
      const code = (params[Number(cc) - 1] ?? '').trim();
      return sign === '-' ? INVERSE_CONDITIONS[code.toLowerCase()] ?? code : code;
    }
    if (plain === '00') return label;
    const n = Number(braced ?? plain);
    if (n === 0 && (braced ?? plain) === '0') return String(given);
    if (n > 0) return params[n - 1] ?? '';
    return all;
  });
  out = out.replace(/\s*%\+\s*/g, '');
  return out;
}

