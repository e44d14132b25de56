// The preprocessor's directives that act on its state rather than on the flow of lines (NASM manual
// chapter 4): %define and friends, %assign, %undef, %unmacro, %error/%warning, the context stack, the
// string functions, %rotate, and the %if family's tests; plus the output, diagnostics and expansion
// helpers they share. The Preprocessor (preprocessor.ts) adds the walk over blocks, %include, %rep and
// multi-line macro expansion on top of this class.
import { DiagnosticSink, LineOrigin } from './diagnostics';
import { ContextStack, stringFunction } from './contextStack';
import { MacroTable } from './macroTable';
import { expandIndirect, splitMacroArguments, UNTERMINATED_INDIRECT } from './macroText';
import { ConditionalStack, ConditionEnvironment, ELIF_DIRECTIVE, evaluateCondition, evaluateConstantText, IF_DIRECTIVE } from './preprocessorConditions';
import { SourceFiles, SourceLine } from './sourceFiles';

export interface PreprocessOptions {
  readonly includePaths: readonly string[];
  readonly defines: Readonly<Record<string, string>>;
  readonly readFile: (absPath: string) => string | undefined;
}

/** Upper bound on preprocessed lines: %rep 1000000 of a macro calling a %rep cannot exhaust memory. */
const MAX_OUTPUT_LINES = 1_000_000;

/** NASM 2.16 preprocessor directives HyperStep does not implement (reported as such, not as unknown). */
const UNSUPPORTED_DIRECTIVES = new Set([
  'defstr', 'idefstr', 'deftok', 'ideftok', 'defalias', 'idefalias', 'undefalias', 'clear', 'use', 'stacksize',
  'local', 'arg', 'pathsearch', 'ipathsearch', 'depend', 'aliases',
]);

/** The parameters of the macro call being expanded (NASM counts supplied defaults in %0 too). */
export interface MacroFrame {
  params: string[];
  readonly unique: number;
  readonly name: string;
  /** The label written before the call (`%00`, NASM manual 4.3.12), '' if none. */
  readonly label: string;
}

export abstract class PreprocessorDirectives {
  readonly output: SourceLine[] = [];
  protected readonly macros: MacroTable;
  protected readonly sources: SourceFiles;
  protected readonly contexts = new ContextStack();
  /** The counter behind `%%x` and context-local names (`..@N.x`), shared as in NASM. */
  protected uniqueCounter = 0;
  /** Number of %exitrep/%exitmacro markers emitted so far (expansions scan for one only if it grew). */
  protected exitMarkers = 0;
  /** Set when the output limit was hit: the result is truncated and not worth assembling. */
  outputOverflowReported = false;

  constructor(options: PreprocessOptions, protected readonly sink: DiagnosticSink) {
    this.macros = new MacroTable(options.defines);
    this.sources = new SourceFiles(options.includePaths, options.readFile);
  }

  /** %include: read and process a file (preprocessor.ts). */
  protected abstract include(rest: string, line: SourceLine, column: number): void;

  protected error(origin: LineOrigin, message: string, column = 1, endColumn = column): void {
    this.sink.report('error', origin, column, endColumn, message);
  }

  protected emit(line: SourceLine): void {
    if (this.output.length >= MAX_OUTPUT_LINES) {
      if (!this.outputOverflowReported) {
        this.outputOverflowReported = true;
        this.error(line.origin, `preprocessor output exceeds ${MAX_OUTPUT_LINES} lines (runaway %rep or macro?)`);
      }
      return;
    }
    this.output.push(line);
  }

  /** %if…/%elif…/%else/%endif (NASM manual 4.4); false when `directive` is none of them. */
  protected conditionalDirective(directive: string, rest: string, line: SourceLine, column: number, conditionals: ConditionalStack, active: boolean): boolean {
    if (IF_DIRECTIVE.test(directive) || directive === 'if' || directive === 'ifn') {
      const parentInactive = !active;
      const result = parentInactive ? false : evaluateCondition(directive.replace(/^if/, ''), rest, this.conditionEnvironment(line, column));
      conditionals.openIf(result, parentInactive);
      return true;
    }
    if (ELIF_DIRECTIVE.test(directive)) {
      const test = (): boolean => evaluateCondition(directive.replace(/^elif/, ''), rest, this.conditionEnvironment(line, column));
      const matched = conditionals.elseIf(test);
      if (!matched) this.error(line.origin, `\`%${directive}': no matching \`%if'`, column);
      return true;
    }
    if (directive === 'else') {
      const verdict = conditionals.otherwise();
      if (verdict === 'unmatched') this.error(line.origin, "`%else': no matching `%if'", column);
      else if (verdict === 'repeated') this.sink.report('warning', line.origin, column, column, '`%else\' after `%else\' ignored');
      return true;
    }
    if (directive === 'endif') {
      if (!conditionals.close()) this.error(line.origin, "`%endif': no matching `%if'", column);
      return true;
    }
    return false;
  }

  private conditionEnvironment(line: SourceLine, column: number): ConditionEnvironment {
    return {
      expand: (text) => this.expand(text, line),
      constant: (text) => this.evaluateConstant(text, line, column),
      isSingleLineMacro: (name) => this.macros.isSingleDefined(name),
      isMultiLineMacro: (name) => this.macros.isMultiLineDefined(name),
      contextName: this.contexts.topName,
      unknownTest: (kind) => this.error(line.origin, `\`%if${kind}' is not supported by HyperStep`, column),
    };
  }

  protected processDirective(directive: string, rest: string, line: SourceLine, column: number, frame: MacroFrame | undefined): void {
    switch (directive) {
      case 'define':
      case 'idefine':
      case 'xdefine':
      case 'ixdefine':
        if (!this.macros.defineFromDirective(rest, directive.startsWith('i'), directive.includes('x') ? (body) => this.expand(body, line) : undefined)) {
          this.error(line.origin, '`%define\' expects a macro identifier', column);
        }
        return;
      case 'undef':
        this.macros.undefine(rest.split(/\s+/)[0] ?? '');
        return;
      case 'assign':
      case 'iassign': {
        const named = MacroTable.nameAndRest(rest);
        if (!named) {
          this.error(line.origin, '`%assign\' expects a macro identifier', column);
          return;
        }
        const value = this.evaluateConstant(named.rest, line, column);
        if (value === undefined) return;
        this.macros.defineSingle({ name: named.name, params: undefined, body: String(value), caseInsensitive: directive === 'iassign' });
        return;
      }
      case 'unmacro':
      case 'unimacro':
        this.macros.undefineMultiLine(rest.split(/\s+/)[0] ?? '');
        return;
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
      case 'repl': {
        const name = this.expand(rest, line).trim().split(/\s+/)[0] ?? '';
        const error = this.contexts.directive(directive, name, () => this.uniqueCounter++);
        if (error !== undefined) this.error(line.origin, error, column);
        return;
      }
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
        if (UNSUPPORTED_DIRECTIVES.has(directive)) this.error(line.origin, `\`%${directive}' is not supported by HyperStep`, column, column + directive.length + 1);
        else this.error(line.origin, `unknown preprocessor directive \`%${directive}'`, column, column + directive.length + 1);
    }
  }

  /** %strlen / %substr / %strcat: define a macro from string arguments (contextStack.ts). */
  private stringDirective(directive: 'strlen' | 'substr' | 'strcat', rest: string, line: SourceLine, column: number): void {
    const named = MacroTable.nameAndRest(rest);
    if (!named) {
      this.error(line.origin, `\`%${directive}' expects a macro identifier`, column);
      return;
    }
    const args = splitMacroArguments(this.expand(named.rest, line));
    const result = stringFunction(directive, args, (text) => this.evaluateConstant(text, line, column));
    if (!result) return;
    if ('error' in result) {
      this.error(line.origin, result.error, column);
      return;
    }
    this.macros.defineSingle({ name: named.name, params: undefined, body: result.body, caseInsensitive: false });
  }

  /** Expands every `%[...]` in the line (NASM manual 4.1.3, macroText.ts). */
  protected expandIndirect(text: string, line: SourceLine): string {
    if (!text.includes('%[')) return text;
    return expandIndirect(text, (contents) => this.expand(contents, line), (at) => this.sink.report('warning', line.origin, at + 1, at + 1, UNTERMINATED_INDIRECT));
  }

  /** Expands single-line macros in a line of text, then pastes tokens joined by `%+` (NASM manual 4.1.4). */
  expand(text: string, line: SourceLine): string {
    return this.macros.expand(text, line.origin, (message) => this.error(line.origin, message));
  }

  protected evaluateConstant(expression: string, line: SourceLine, column: number): number | undefined {
    const value = evaluateConstantText(this.expand(expression, line));
    if (typeof value === 'number') return value;
    const e = value.error;
    const message = /^symbol `/.test(e.message) ? `${e.message} (non-constant value in preprocessor expression)` : e.message;
    this.error(line.origin, message, column, column + expression.length);
    return undefined;
  }
}
