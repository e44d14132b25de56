// The macros a preprocessor run has defined: single-line macros (%define/%idefine/%xdefine/%assign and
// the string functions; NASM manual 4.1-4.2) and multi-line macros (%macro/%imacro/%rmacro, manual 4.3,
// overloaded by parameter count), with the parsing of their definitions, single-line expansion of a
// line, and the binding of a multi-line macro call's arguments to its parameters.
import { LineOrigin } from './diagnostics';
import { pasteTokens, splitMacroArguments, stripComment } from './macroText';
import { SourceLine } from './sourceFiles';
import { expandSingleLineMacros, SingleLineMacro } from './singleLineMacros';

export interface MultiLineMacro {
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

/** A multi-line macro call found on a line. */
export interface MacroCall {
  readonly macro: MultiLineMacro;
  readonly args: string[];
  /** The label written before the call (`label: macro args`), '' if none. */
  readonly label: string;
}

/** A macro name as NASM's preprocessor reads it, followed by the rest of the directive. */
const NAME_THEN_REST = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*(.*)$/;

export class MacroTable {
  private readonly singles = new Map<string, SingleLineMacro>();
  private readonly singlesInsensitive = new Map<string, SingleLineMacro>();
  private readonly multis = new Map<string, MultiLineMacro[]>();
  /** Every single-line and multi-line macro name ever defined (lower case). */
  readonly namesEverDefined = new Set<string>();

  constructor(defines: Readonly<Record<string, string>>) {
    for (const [name, value] of Object.entries(defines)) {
      this.namesEverDefined.add(name.toLowerCase());
      this.singles.set(name, { name, params: undefined, body: value, caseInsensitive: false });
    }
  }

  /** True when some multi-line macro exists (ordinary lines need not look for calls otherwise). */
  get hasMultiLineMacros(): boolean {
    return this.multis.size > 0;
  }

  /** Expands single-line macros in a line of text, then pastes tokens joined by `%+` (NASM manual 4.1.4). */
  expand(text: string, origin: LineOrigin, onError: (message: string) => void): string {
    const expanded = this.singles.size === 0 && this.singlesInsensitive.size === 0 && !text.includes('__')
      ? text
      : expandSingleLineMacros(text, this.singles, this.singlesInsensitive, origin, onError);
    return expanded.includes('%+') ? pasteTokens(expanded) : expanded;
  }

  defineSingle(macro: SingleLineMacro): void {
    this.namesEverDefined.add(macro.name.toLowerCase());
    if (macro.caseInsensitive) this.singlesInsensitive.set(macro.name.toLowerCase(), macro);
    else this.singles.set(macro.name, macro);
  }

  /**
   * %define / %idefine / %xdefine / %ixdefine `name[(params)] body`; `expandNow` (the x forms) expands
   * the body at definition. Returns false when no macro name follows.
   */
  defineFromDirective(rest: string, caseInsensitive: boolean, expandNow: ((body: string) => string) | undefined): boolean {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)(\(([^)]*)\))?\s*(.*)$/.exec(rest);
    if (!m) return false;
    const params = m[2] !== undefined ? m[3]!.split(',').map((p) => p.trim()).filter((p) => p !== '') : undefined;
    let body = m[4]!;
    if (expandNow) body = expandNow(body);
    this.defineSingle({ name: m[1]!, params, body, caseInsensitive });
    return true;
  }

  /** `name rest-of-line` of %assign, %strlen, %substr, %strcat; undefined when no name follows. */
  static nameAndRest(rest: string): { name: string; rest: string } | undefined {
    const m = NAME_THEN_REST.exec(rest);
    return m ? { name: m[1]!, rest: m[2]! } : undefined;
  }

  /** %undef: removes the single-line macro (either case sensitivity). */
  undefine(name: string): void {
    this.singles.delete(name);
    this.singlesInsensitive.delete(name.toLowerCase());
  }

  isSingleDefined(name: string): boolean {
    return this.singles.has(name) || this.singlesInsensitive.has(name.toLowerCase());
  }

  /**
   * %macro / %imacro / %rmacro / %irmacro `name min[-max|-*][+] [.nolist] [defaults]`; a definition with
   * the same parameter range replaces the earlier one. Returns false when the header is malformed.
   */
  defineMultiLine(rest: string, body: readonly SourceLine[], caseInsensitive: boolean, recursive: boolean): boolean {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*(?:(\d+)(?:\s*-\s*(\d+|\*))?(\+)?)?\s*(?:\.nolist)?\s*(.*)$/.exec(rest);
    if (!m || m[2] === undefined) return false;
    const minParams = Number(m[2]);
    const maxParams = m[3] === undefined ? minParams : m[3] === '*' ? Infinity : Number(m[3]);
    const defaults = m[5] ? splitMacroArguments(m[5]) : [];
    const macro: MultiLineMacro = { name: m[1]!, minParams, maxParams, greedy: m[4] === '+', defaults, body, caseInsensitive, recursive };
    this.namesEverDefined.add(macro.name.toLowerCase());
    const key = macro.name.toLowerCase();
    const list = (this.multis.get(key) ?? []).filter((x) => !(x.minParams === minParams && x.maxParams === maxParams));
    list.push(macro);
    this.multis.set(key, list);
    return true;
  }

  /** %unmacro: forgets every multi-line macro of that name. */
  undefineMultiLine(name: string): void {
    this.multis.delete(name.toLowerCase());
  }

  isMultiLineDefined(name: string): boolean {
    return this.multis.has(name.toLowerCase());
  }

  /**
   * The multi-line macro call on an (expanded) ordinary line, if it is one: `[label:] name args`, the
   * macro chosen by name case and argument count. `available` excludes macros already being expanded
   * (unless recursive). An error when the name matches but no definition takes that many arguments.
   */
  findCall(line: string, available: (macro: MultiLineMacro) => boolean): MacroCall | { readonly error: string; readonly text: string } | undefined {
    let text = line;
    // `label: macro args` defines the label, then expands the macro (as NASM does).
    const labelled = text.includes(':') ? /^(\s*[A-Za-z_.?@$][\w$#@~.?]*:)\s*([A-Za-z_.?@$][\w$#@~.?]*)(?=\s|$|;)/.exec(text) : null;
    let label = '';
    if (labelled && this.isMultiLineDefined(labelled[2]!)) {
      label = labelled[1]!.trim().slice(0, -1);
      text = text.slice(labelled[1]!.length);
    }
    const m = /^\s*([A-Za-z_.?@$][\w$#@~.?]*)(?=\s|$|;)\s*(.*)$/.exec(text);
    const candidates = m ? this.multis.get(m[1]!.toLowerCase()) : undefined;
    if (!m || !candidates) return undefined;
    const args = stripComment(m[2]!);
    const argList = args.trim() === '' ? [] : splitMacroArguments(args);
    const callable = (c: MultiLineMacro): boolean => (c.caseInsensitive || c.name === m[1]) && (c.recursive || available(c));
    const macro = candidates.find((c) => callable(c) && argList.length >= c.minParams && (argList.length <= c.maxParams || c.greedy));
    if (macro) return { macro, args: argList, label };
    if (candidates.some(callable)) return { error: `macro \`${m[1]}' exists, but not taking ${argList.length} parameters`, text };
    return undefined;
  }
}

/**
 * The parameters of a call: a greedy macro's last parameter takes the rest of the line, commas
 * included (NASM manual 4.3.3); missing ones take the defaults (4.3.5; %0 counts them too).
 */
export function bindParameters(macro: MultiLineMacro, args: readonly string[]): string[] {
  let params = args.slice();
  if (macro.greedy && params.length > macro.maxParams && Number.isFinite(macro.maxParams)) {
    const head = params.slice(0, macro.maxParams - 1);
    head.push(params.slice(macro.maxParams - 1).join(','));
    params = head;
  }
  for (let k = params.length; k < macro.maxParams && k - macro.minParams < macro.defaults.length && Number.isFinite(macro.maxParams); k++) {
    params.push(macro.defaults[k - macro.minParams] ?? '');
  }
  return params;
}

/** The body lines of one expansion, each with the call site as its origin and the body line as `expansion`. */
export function expansionLines(macro: MultiLineMacro, call: LineOrigin): SourceLine[] {
  return macro.body.map((bodyLine) => ({
    text: bodyLine.text,
    origin: {
      file: call.file,
      line: call.line,
      expansion: { macro: macro.name, file: bodyLine.origin.expansion?.file ?? bodyLine.origin.file, line: bodyLine.origin.expansion?.line ?? bodyLine.origin.line },
    },
  }));
}
