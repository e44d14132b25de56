// Operand-level rules of the NASM grammar: registers, memory operands, size and jump keywords, numbers in every
// NASM form (manual 3.4.1), strings and character constants (3.4.2-3.4.3), macro parameters (4.3) and operators
// (3.5). They do not depend on the mnemonic vocabulary.
import {
  after, before, controlRegisters, debugRegisters, generalRegisters, identChar, jumpModifiers, otherRegisters,
  segmentRegisters, sizeKeywords, suffix, word, type Rule,
} from './regex-words';

export function operandRepository(): Record<string, Rule> {
  return {
    operands: {
      patterns: [
        { include: '#comment' },
        { include: '#memory' },
        { include: '#operandKeywords' },
        { include: '#registers' },
        { include: '#macroParameters' },
        { include: '#characterConstants' },
        { include: '#numbers' },
        { include: '#operators' },
      ],
    },
    operandKeywords: {
      patterns: [
        {
          match: `(${word(sizeKeywords)})`,
          captures: { '1': { name: `storage.type.size.${suffix}` } },
        },
        {
          // `dword ptr [x]` is MASM; NASM reads `ptr` as a symbol, so flag it where MASM habits put it.
          match: `(?i)${before}ptr(?=\\s*\\[)`,
          name: `invalid.illegal.masm-ptr.${suffix}`,
        },
        {
          match: `(${word(jumpModifiers)})`,
          captures: { '1': { name: `storage.modifier.jump.${suffix}` } },
        },
        {
          match: `(${word(['seg', 'wrt'])})`,
          captures: { '1': { name: `keyword.operator.word.${suffix}` } },
        },
      ],
    },
    registers: {
      patterns: [
        { match: `(${word(generalRegisters)})`, captures: { '1': { name: `variable.other.register.general.${suffix}` } } },
        { match: `(${word(segmentRegisters)})`, captures: { '1': { name: `variable.other.register.segment.${suffix}` } } },
        { match: `(${word(controlRegisters)})`, captures: { '1': { name: `variable.other.register.control.${suffix}` } } },
        { match: `(${word(debugRegisters)})`, captures: { '1': { name: `variable.other.register.debug.${suffix}` } } },
        { match: `(${word(otherRegisters)})`, captures: { '1': { name: `variable.other.register.${suffix}` } } },
      ],
    },
    memory: {
      // `[seg: base + index*scale + disp]` (manual 3.3); unterminated brackets end at the line end.
      begin: '\\[',
      beginCaptures: { '0': { name: `punctuation.definition.memory.begin.${suffix}` } },
      end: '\\]|(?=;|$)',
      endCaptures: { '0': { name: `punctuation.definition.memory.end.${suffix}` } },
      name: `meta.memory-operand.${suffix}`,
      patterns: [
        {
          match: `(?i)${before}(cs|ds|es|fs|gs|ss)\\s*(:)`,
          captures: {
            '1': { name: `variable.other.register.segment.override.${suffix}` },
            '2': { name: `punctuation.separator.segment-override.${suffix}` },
          },
        },
        { include: '#operandKeywords' },
        { include: '#registers' },
        { include: '#macroParameters' },
        { include: '#characterConstants' },
        { include: '#numbers' },
        { include: '#operators' },
      ],
    },
    macroParameters: {
      patterns: [
        { match: '%%[\\w$#@~.?]+', name: `variable.other.macro-local.${suffix}` },
        { match: '%\\$+[\\w$#@~.?]+', name: `variable.other.context-local.${suffix}` },
        { match: '%[+-]?[0-9]+|%\\{[+-]?[0-9]+(?::[+-]?[0-9]+)?\\}', name: `variable.parameter.macro.${suffix}` },
      ],
    },
    numbers: {
      // NASM manual 3.4.1. Underscores may separate digits anywhere after the first.
      patterns: [
        { match: `(?i)${before}[0-9][0-9_]*(?:\\.[0-9_]*(?:e[+-]?[0-9]+)?|e[+-]?[0-9]+)${after}`, name: `constant.numeric.float.${suffix}` },
        { match: `(?i)${before}(?:0[xh][0-9a-f_]+|[0-9][0-9a-f_]*h)${after}|\\$(?<!${identChar}\\$)[0-9][0-9a-f_]*${after}`, name: `constant.numeric.integer.hexadecimal.${suffix}` },
        { match: `(?i)${before}(?:0[by][01_]+|[01][01_]*[by])${after}`, name: `constant.numeric.integer.binary.${suffix}` },
        { match: `(?i)${before}(?:0[oq][0-7_]+|[0-7][0-7_]*[oq])${after}`, name: `constant.numeric.integer.octal.${suffix}` },
        { match: `(?i)${before}(?:0[dt][0-9_]+|[0-9][0-9_]*d?)${after}`, name: `constant.numeric.integer.decimal.${suffix}` },
        { match: `\\$(?<!${identChar}\\$)\\$?${after}`, name: `variable.language.location-counter.${suffix}` },
      ],
    },
    strings: {
      // In db/dw/dd... quoted text is a string (manual 3.4.2).
      patterns: [
        { match: "'[^']*(?:'|$)", name: `string.quoted.single.${suffix}` },
        { match: '"[^"]*(?:"|$)', name: `string.quoted.double.${suffix}` },
        {
          begin: '`',
          end: '`|$',
          name: `string.quoted.other.backquote.${suffix}`,
          patterns: [{ include: '#escapes' }],
        },
      ],
    },
    characterConstants: {
      // Elsewhere a quoted string is a character constant, a number (manual 3.4.3).
      patterns: [
        { match: "'[^']*(?:'|$)", name: `constant.character.quoted.single.${suffix}` },
        { match: '"[^"]*(?:"|$)', name: `constant.character.quoted.double.${suffix}` },
        {
          begin: '`',
          end: '`|$',
          name: `constant.character.quoted.backquote.${suffix}`,
          patterns: [{ include: '#escapes' }],
        },
      ],
    },
    escapes: {
      // Backquote escapes (manual 3.4.2): \' \" \` \\ \? \a \b \t \n \v \f \r \e, octal, \x, \u, \U.
      match: "\\\\(?:[0-7]{1,3}|x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|['\"`\\\\?abtnvfre])",
      name: `constant.character.escape.backquote.${suffix}`,
    },
    operators: {
      patterns: [
        { match: '<<<|>>>|<<|>>|//|%%|==|!=|<>|<=>|<=|>=|&&|\\|\\||\\^\\^|[-+*/%&|^~!<>=]', name: `keyword.operator.${suffix}` },
        { match: ',', name: `punctuation.separator.operand.${suffix}` },
        { match: '\\(', name: `punctuation.section.parens.begin.${suffix}` },
        { match: '\\)', name: `punctuation.section.parens.end.${suffix}` },
      ],
    },
  };
}
