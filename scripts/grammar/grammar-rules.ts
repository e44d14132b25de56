// Builds the TextMate grammar for NASM-syntax IA-32 assembly (syntaxes/hyperstep-nasm.tmLanguage.json).
//
// Pure function of the mnemonic vocabulary (isa-vocabulary.ts derives it from the instruction table in
// src/emulator/isa): build-grammar.ts writes the result to disk, the unit test compares the committed file.
// This file holds the statement-level rules (labels, preprocessor, directives, instructions by class);
// operand-rules.ts the operand-level ones. Lexical rules follow the NASM 2.16 manual: ch. 3.1 (statement
// layout, prefixes), 3.2 (pseudo-instructions), 3.9 (local labels, `..@`), ch. 4 (preprocessor), ch. 7-8
// (directives).
//
// Why these scopes (checked against the rules of VS Code's Dark+ and Light+ themes, extensions/theme-defaults:
// `keyword` and `storage.*` are #569cd6 / #0000ff, `keyword.control` #C586C0 / #AF00DB, `support.function` and
// `entity.name.function` #DCDCAA / #795E26, `support.type` #4EC9B0 / #267f99, `variable` #9CDCFE / #001080,
// `constant.character.escape` #d7ba7d / #EE0000):
//  - plain instructions   keyword.other.instruction          blue in both themes;
//  - privileged           keyword.control.privileged.*        purple: every theme colours keyword.control,
//                         and nothing else in this grammar uses keyword.control (jumps stay plain);
//                         I/O-sensitive ones (cli/sti/in/out/ins/outs: IOPL decides) are the sub-family
//                         keyword.control.privileged.io-sensitive, same colour, separately themable;
//  - sensitive            support.function.sensitive.*        yellow / brown. `storage.modifier` was rejected:
//                         Dark+ and Light+ give it the very colour of `keyword`, so sensitive would look plain;
//  - VMX exits            support.type.vmx.*                  teal in both themes (VMX instructions and the
//                         others that exit unconditionally in VMX non-root operation: cpuid, invd);
//  - hypercall (int 0x82) constant.character.escape.hypercall  gold / red: the guest's escape into the VMM.
// Labels use entity.name.label (not entity.name.function) and macro names entity.name.macro so that the yellow
// and teal families stay reserved for the virtualization classes.
import * as classes from './instruction-classes';
import { operandRepository } from './operand-rules';
import {
  after, alternation, before, dataDirectives, identifier, preprocessorWords, reserveDirectives,
  statementDirectives, suffix, word, type Rule,
} from './regex-words';

export const scopeName = 'source.asm.nasm.hyperstep';

/** Scope of the mnemonic token for each class; exported so tests assert the same names. */
export const classScopes = {
  plain: `keyword.other.instruction.${suffix}`,
  privileged: `keyword.control.privileged.instruction.${suffix}`,
  io: `keyword.control.privileged.io-sensitive.instruction.${suffix}`,
  sensitive: `support.function.sensitive.instruction.${suffix}`,
  vmx: `support.type.vmx.instruction.${suffix}`,
  hypercall: `constant.character.escape.hypercall.instruction.${suffix}`,
} as const;

/** A hypercall made through a macro of samples/include/hypercall.inc: the hypercall colour, its own scope. */
export const hypercallMacroScope = `constant.character.escape.hypercall.macro.${suffix}`;

/** The vocabulary the grammar is generated from: one mnemonic list per class (lower case). */
export interface GrammarVocabulary {
  readonly privileged: readonly string[];
  readonly io: readonly string[];
  readonly sensitive: readonly string[];
  readonly vmx: readonly string[];
  readonly plain: readonly string[];
}

/**
 * Mnemonics whose table forms belong to different classes; the grammar colours their special forms by operand:
 * MOV to/from CRn/DRn is privileged; MOV to/from a segment register, PUSH/POP of a segment register and far
 * JMP/CALL are sensitive (Robin & Irvine 2000: they expose or load the CPL/RPL of selectors). Everything else plain.
 */
export const operandDependentMnemonics: readonly string[] = ['mov', 'push', 'pop', 'jmp', 'call'];

export const fallbackVocabulary: GrammarVocabulary = {
  privileged: classes.privilegedMnemonics,
  io: classes.ioMnemonics,
  sensitive: classes.sensitiveMnemonics,
  vmx: classes.vmxMnemonics,
  plain: classes.plainMnemonics,
};

/** Rules by name: statement-level rules first (their order is the JSON's), then operand-level ones. */
function repository(vocabulary: GrammarVocabulary): Record<string, Rule> {
  return {
    ...statementRepository(vocabulary),
    ...operandRepository(),
  };
}

function statementRepository(vocabulary: GrammarVocabulary): Record<string, Rule> {
  const operandsUntilEol: Rule[] = [{ include: '#operands' }];
  const instruction = (words: readonly string[], scope: string): Rule => ({
    begin: `(${word(words)})`,
    beginCaptures: { '1': { name: scope } },
    end: '(?=;|$)',
    name: `meta.instruction.${suffix}`,
    patterns: operandsUntilEol,
  });
  const crOrDr = `${before}(?i:cr[0-4]|dr[0-7])${after}`;
  const reservedWords = alternation([
    ...allMnemonics(vocabulary), ...classes.prefixKeywords, ...dataDirectives, ...reserveDirectives,
    ...statementDirectives, 'section', 'segment',
  ]);
  const segmentRegister = `(?:cs|ds|es|fs|gs|ss)${after}`;
  return {
    comment: {
      match: '(;).*$',
      name: `comment.line.semicolon.${suffix}`,
      captures: { '1': { name: `punctuation.definition.comment.${suffix}` } },
    },
    labels: {
      patterns: [
        {
          // `label:` at the start of a statement (manual 3.1); `..@x` and `%%x` are the special forms of 3.9/4.3.
          match: `^\\s*(?:(\\.\\.@[\\w$#@~.?]+)|(%%[\\w$#@~.?]+)|(\\.[\\w$#@~.?]+)|(\\$?${identifier}(?:%[0-9]+[\\w$#@~.?]*)*))\\s*(:)`,
          captures: {
            '1': { name: `entity.name.label.special.${suffix}` },
            '2': { name: `entity.name.label.macro-local.${suffix}` },
            '3': { name: `entity.name.label.local.${suffix}` },
            '4': { name: `entity.name.label.global.${suffix}` },
            '5': { name: `punctuation.separator.label.${suffix}` },
          },
        },
        {
          // A label without colon, recognised when a known mnemonic or data / equ / times / res* follows.
          match:
            `^\\s*(?!(?i:${reservedWords})${after})` +
            `(?:(\\.\\.@[\\w$#@~.?]+)|(\\.[\\w$#@~.?]+)|(\\$?${identifier}))` +
            `(?=\\s+(?i:${alternation([...allMnemonics(vocabulary), ...classes.prefixKeywords, ...dataDirectives, ...reserveDirectives, 'equ', 'times'])})${after})`,
          captures: {
            '1': { name: `entity.name.label.special.${suffix}` },
            '2': { name: `entity.name.label.local.${suffix}` },
            '3': { name: `entity.name.label.global.${suffix}` },
          },
        },
      ],
    },
    preprocessor: {
      patterns: [
        {
          // %define NAME / %xdefine NAME(params) / %assign NAME / %undef NAME / %macro NAME n[-m][+]
          begin: `(?i)^\\s*(%(?:i?x?define|undef|i?assign|i?defstr|deftok|defalias|i?macro|unmacro|ifn?def|elifn?def|ifn?macro|elifn?macro))\\s+([\\w$#@~.?%]+)`,
          beginCaptures: {
            '1': { name: `keyword.other.preprocessor.${suffix}` },
            '2': { name: `entity.name.macro.${suffix}` },
          },
          end: '(?=;|$)',
          name: `meta.preprocessor.${suffix}`,
          patterns: [{ include: '#strings' }, ...operandsUntilEol],
        },
        {
          begin: `(?i)^\\s*(%(?:${alternation(preprocessorWords)}))${after}`,
          beginCaptures: { '1': { name: `keyword.other.preprocessor.${suffix}` } },
          end: '(?=;|$)',
          name: `meta.preprocessor.${suffix}`,
          patterns: [{ include: '#strings' }, ...operandsUntilEol],
        },
      ],
    },
    directives: {
      patterns: [
        {
          // Primitive (bracketed) directive form, e.g. `[bits 32]`, `[section .text]` (manual ch. 7).
          begin: `(?i)^\\s*(\\[)(?=\\s*(?:bits|section|segment|org|cpu|default|absolute|extern|global|common|warning|map)${after})`,
          beginCaptures: { '1': { name: `punctuation.definition.directive.begin.${suffix}` } },
          end: '(\\])|(?=;|$)',
          endCaptures: { '1': { name: `punctuation.definition.directive.end.${suffix}` } },
          name: `meta.directive.primitive.${suffix}`,
          patterns: [{ include: '#directives' }, { include: '#operands' }],
        },
        {
          // `section .text align=16 progbits` / `segment` (manual 7.3 and 8.9.2); attributes until the line end.
          begin: `(?i)${before}(section|segment)\\s+([\\w$#@~.?]+)`,
          beginCaptures: {
            '1': { name: `keyword.other.directive.section.${suffix}` },
            '2': { name: `entity.name.section.${suffix}` },
          },
          end: '(?=;|\\]|$)',
          patterns: [
            {
              match: `(?i)${before}(?:align|alloc|noalloc|exec|noexec|write|nowrite|progbits|nobits|note|preinit_array|init_array|fini_array|tls|notls|pointer|start|vstart|follows|vfollows)${after}`,
              name: `storage.modifier.section-attribute.${suffix}`,
            },
            { include: '#operands' },
          ],
        },
        {
          begin: `(${word(dataDirectives)})`,
          beginCaptures: { '1': { name: `keyword.other.directive.data.${suffix}` } },
          end: '(?=;|$)',
          name: `meta.data.${suffix}`,
          patterns: [{ include: '#strings' }, { include: '#operands' }],
        },
        {
          match: `(${word(reserveDirectives)})`,
          captures: { '1': { name: `keyword.other.directive.reserve.${suffix}` } },
        },
        {
          // struc NAME / istruc NAME (manual 5.9.1-5.9.2)
          match: `(?i)${before}(struc|istruc)\\s+([\\w$#@~.?]+)`,
          captures: {
            '1': { name: `keyword.other.directive.${suffix}` },
            '2': { name: `entity.name.struct.${suffix}` },
          },
        },
        {
          // at FIELD, value (inside istruc)
          match: `(?i)${before}(at)\\s+([\\w$#@~.?]+)`,
          captures: {
            '1': { name: `keyword.other.directive.${suffix}` },
            '2': { name: `variable.other.member.${suffix}` },
          },
        },
        {
          match: `(${word(statementDirectives)})`,
          captures: { '1': { name: `keyword.other.directive.${suffix}` } },
        },
      ],
    },
    instructions: {
      patterns: [
        {
          // `HYPERVISOR_console_write msg, len` / `HYPERCALL console_io, …` at the start of a statement.
          begin: `(?:^|(?<=:))\\s*(${classes.hypercallMacroPattern})${after}`,
          beginCaptures: { '1': { name: hypercallMacroScope } },
          end: '(?=;|$)',
          name: `meta.instruction.hypercall.${suffix}`,
          patterns: operandsUntilEol,
        },
        {
          // `int 0x82`: HyperStep's paravirtual hypercall (issue 5), any spelling of the vector.
          begin: `(?i)${before}(int)\\s+(?=(?:${classes.hypercallVectorSpellings.join('|')})${after})`,
          beginCaptures: { '1': { name: classScopes.hypercall } },
          end: '(?=;|$)',
          name: `meta.instruction.hypercall.${suffix}`,
          patterns: operandsUntilEol,
        },
        {
          // MOV to/from CR0-CR4 or DR0-DR7 is privileged (SDM Vol. 3A 2.8); the register operand gets its own scope.
          begin: `(?i)${before}(mov)${after}(?=[^;\\n]*${crOrDr})`,
          beginCaptures: { '1': { name: classScopes.privileged } },
          end: '(?=;|$)',
          name: `meta.instruction.privileged.${suffix}`,
          patterns: operandsUntilEol,
        },
        {
          // MOV Ev,Sw / MOV Sw,Ev: a segment register as the first or last operand (not a `[es:…]` override).
          begin: `(?i)${before}(mov)${after}(?=\\s+${segmentRegister}\\s*,|[^;\\n]*,\\s*${segmentRegister}\\s*(?:;|$))`,
          beginCaptures: { '1': { name: classScopes.sensitive } },
          end: '(?=;|$)',
          name: `meta.instruction.sensitive.${suffix}`,
          patterns: operandsUntilEol,
        },
        {
          // PUSH/POP of a segment register.
          begin: `(?i)${before}(push|pop)${after}(?=\\s+${segmentRegister}\\s*(?:;|$))`,
          beginCaptures: { '1': { name: classScopes.sensitive } },
          end: '(?=;|$)',
          name: `meta.instruction.sensitive.${suffix}`,
          patterns: operandsUntilEol,
        },
        {
          // Far JMP/CALL: `jmp 0x08:target` (ptr16:32) or `jmp far [pointer]` (m16:32).
          begin: `(?i)${before}(jmp|call)${after}(?=(?:\\s+(?:dword|word|strict))*\\s+far${after}|\\s+[^\\[;\\n]*:)`,
          beginCaptures: { '1': { name: classScopes.sensitive } },
          end: '(?=;|$)',
          name: `meta.instruction.sensitive.${suffix}`,
          patterns: operandsUntilEol,
        },
        instruction(vocabulary.vmx, classScopes.vmx),
        instruction(vocabulary.privileged, classScopes.privileged),
        instruction(vocabulary.io, classScopes.io),
        instruction(vocabulary.sensitive, classScopes.sensitive),
        instruction(vocabulary.plain, classScopes.plain),
        {
          match: `(${word(classes.prefixKeywords)})`,
          captures: { '1': { name: `keyword.other.prefix.${suffix}` } },
        },
        {
          // Any other word in statement position is a macro invocation (NASM manual 4.3); its arguments are
          // operands. Scoped apart from instructions so that `PUTC 'a'` does not look like an unknown opcode.
          begin: `(?:^|(?<=:))\\s*(?!(?i:${reservedWords})${after})(${identifier})(?=\\s|;|$)`,
          beginCaptures: { '1': { name: `support.other.macro.call.${suffix}` } },
          end: '(?=;|$)',
          name: `meta.macro-call.${suffix}`,
          patterns: [{ include: '#strings' }, ...operandsUntilEol],
        },
      ],
    },
  };
}

function allMnemonics(vocabulary: GrammarVocabulary): string[] {
  return [...vocabulary.privileged, ...vocabulary.io, ...vocabulary.sensitive, ...vocabulary.vmx, ...vocabulary.plain];
}

/** The whole grammar as a JSON-ready object. */
export function buildGrammar(vocabulary: GrammarVocabulary = fallbackVocabulary): object {
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'NASM x86 (HyperStep)',
    scopeName,
    comment: 'GENERATED by scripts/grammar/build-grammar.ts - do not edit; edit the generator and run `npx tsx scripts/grammar/build-grammar.ts`.',
    fileTypes: ['asm', 'inc'],
    patterns: [
      { include: '#comment' },
      { include: '#preprocessor' },
      { include: '#labels' },
      { include: '#directives' },
      { include: '#instructions' },
      { include: '#operands' },
      { include: '#strings' },
    ],
    repository: repository(vocabulary),
  };
}

/** Serialised form, exactly as committed. */
export function grammarText(vocabulary: GrammarVocabulary = fallbackVocabulary): string {
  return `${JSON.stringify(buildGrammar(vocabulary), null, 2)}\n`;
}
