// The NASM preprocessor (manual chapter 4): walks the source block by block (a file, a macro expansion,
// a %rep body), tracks conditionals, runs directives, %include and %rep, and expands macro calls, turning
// source files into a flat list of lines, each remembering where it came from (file, line, and the macro
// body line for expansions). Directives on state: preprocessorDirectives.ts; macro definitions:
// macroTable.ts; conditionals: preprocessorConditions.ts; files: sourceFiles.ts.
// Every recursion is bounded (macro depth, include depth, %rep output), so no input can loop forever.
import { bindParameters, expansionLines, MultiLineMacro } from './macroTable';
import { stripComment, substituteParameters } from './macroText';
import { ConditionalStack, CONTINUES_CONDITIONAL } from './preprocessorConditions';
import { MacroFrame, PreprocessorDirectives } from './preprocessorDirectives';
import { SourceLine } from './sourceFiles';
import { standardMacroCost } from './standardMacros';

export type { SourceLine } from './sourceFiles';
export type { PreprocessOptions } from './preprocessorDirectives';

const MAX_MACRO_DEPTH = 200;
const MAX_INCLUDE_DEPTH = 64;

export class Preprocessor extends PreprocessorDirectives {
  private readonly activeMacros = new Set<MultiLineMacro>();
  private macroDepth = 0;
  private includeDepth = 0;
  /**
   * For each line of the main file handled as an ordinary top-level line: the index of its output line,
   * or -1 when it sat in an inactive %if branch. Other lines (directives, macro calls, lines inside
   * %rep/%macro bodies) are absent. Read by incremental.ts to patch one edited line without re-running.
   */
  readonly topLevelLines = new Map<number, number>();
  private mainLines: readonly SourceLine[] | undefined;
  private blockDepth = 0;

  /** Files read, with their lines, so a host can cache them and the listing can show their lines. */
  get files(): ReadonlyMap<string, readonly SourceLine[]> {
    return this.sources.files;
  }

  /** Raw text of every %include file tried (an incremental re-run checks they did not change). */
  get includeTexts(): ReadonlyMap<string, string | undefined> {
    return this.sources.includeTexts;
  }

  /** Every single-line and multi-line macro name ever defined (lower case). */
  get namesEverDefined(): ReadonlySet<string> {
    return this.macros.namesEverDefined;
  }

  run(path: string, text: string): SourceLine[] {
    const lines = this.sources.addMain(path, text);
    this.mainLines = lines;
    this.processLines(lines, undefined);
    return this.output;
  }

  /**
   * Processes a block of lines (a file, a macro expansion or a %rep body). `frame` is set when the
   * block is a macro expansion; conditionals must balance within one block, as in NASM.
   */
  private processLines(lines: readonly SourceLine[], frame: MacroFrame | undefined): void {
    this.blockDepth++;
    this.processBlock(lines, frame, this.blockDepth === 1 && lines === this.mainLines);
    this.blockDepth--;
  }

  private processBlock(lines: readonly SourceLine[], frame: MacroFrame | undefined, topLevel: boolean): void {
    const conditionals = new ConditionalStack();
    let i = 0;
    while (i < lines.length) {
      if (this.outputOverflowReported) return;
      // Macro parameters are substituted when a body line is reached, so %rotate affects later lines.
      const raw = lines[i]!;
      const active = conditionals.active;
      let line = frame && raw.text.includes('%') ? { text: substituteParameters(raw.text, frame.params, frame.params.length, frame.unique, frame.label), origin: raw.origin } : raw;
      if (line.text.includes('%$')) {
        const origin = line.origin;
        line = { text: this.contexts.substitute(line.text, active ? (message) => this.error(origin, message) : undefined), origin };
      }
      // `%[...]` is expanded before anything else looks at the line, directives included (NASM manual 4.1.3);
      // as in nasm, also on %elif/%else/%endif lines of an %if whose surroundings are emitted.
      if (line.text.includes('%[') && (active || (conditionals.enclosingActive && CONTINUES_CONDITIONAL.test(line.text)))) {
        line = { text: this.expandIndirect(line.text, line), origin: line.origin };
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
      if (this.conditionalDirective(directive, rest, line, column, conditionals, active)) {
        i++;
        continue;
      }
      if (directive === 'macro' || directive === 'imacro' || directive === 'rmacro' || directive === 'irmacro') {
        const end = findBlockEnd(lines, i, /^%i?r?macro$/, /^%endm(acro)?$/);
        if (end < 0) {
          this.error(line.origin, 'end of file while still defining macro', column);
          return;
        }
        if (active && !this.macros.defineMultiLine(rest, lines.slice(i + 1, end), directive.startsWith('i'), directive.endsWith('rmacro'))) {
          this.error(line.origin, '`%macro\' expects a macro identifier and a parameter count', column);
        }
        i = end + 1;
        continue;
      }
      if (directive === 'rep') {
        const end = findBlockEnd(lines, i, /^%rep$/, /^%endrep$/);
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
    if (conditionals.depth > 0) {
      const last = lines[lines.length - 1];
      if (last) this.error(last.origin, 'expected `%endif\' before end of file');
    }
  }

  protected include(rest: string, line: SourceLine, column: number): void {
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
    const lines = this.sources.include(name, line.origin.expansion?.file ?? line.origin.file);
    if (!lines) {
      this.error(line.origin, `unable to open include file \`${name}'`, column, column + rest.length + 8);
      return;
    }
    this.includeDepth++;
    this.processLines(lines, undefined);
    this.includeDepth--;
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
    const text = this.expand(line.text, line);
    const call = this.macros.hasMultiLineMacros ? this.macros.findCall(text, (macro) => !this.activeMacros.has(macro)) : undefined;
    if (call && 'error' in call) {
      this.error(line.origin, call.error, 1, call.text.length);
      return;
    }
    if (call) {
      // The label is defined at the call unless the body takes it as %00 (NASM manual 4.3.12).
      if (call.label !== '' && !call.macro.body.some((b) => b.text.includes('%00'))) this.emit({ text: `${call.label}:`, origin: line.origin });
      this.expandMacro(call.macro, call.args, line, call.label);
      return;
    }
    const bumped = this.bumpForStandardMacro(text);
    this.emit(bumped === line.text ? line : { text: bumped, origin: line.origin, written: line.text });
  }

  /** A directive NASM implements as a standard macro consumes unique-label numbers (standardMacros.ts). */
  private bumpForStandardMacro(text: string): string {
    const standard = standardMacroCost(text);
    if (!standard) return text;
    this.uniqueCounter += standard.cost;
    // NASM defines `..@N.strucstart` at an istruc: the assembler takes it from the line.
    if (standard.word === 'istruc') return `${stripComment(text)} ..@${this.uniqueCounter - 1}.strucstart`;
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
    const params = bindParameters(macro, args);
    const unique = this.uniqueCounter++;
    this.macroDepth++;
    this.activeMacros.add(macro);
    const mark = this.output.length;
    const markersBefore = this.exitMarkers;
    this.processLines(expansionLines(macro, call.origin), { params, unique, name: macro.name, label });
    this.activeMacros.delete(macro);
    const exit = this.findMarker(mark, '%exitmacro', markersBefore);
    if (exit >= 0) this.output.length = exit;
    this.macroDepth--;
  }
}

/** Index of the line closing the block opened at `start`, honouring nesting; -1 if none. */
function findBlockEnd(lines: readonly SourceLine[], start: number, open: RegExp, close: RegExp): number {
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
