// The grammar's vocabulary from the instruction table (src/emulator/isa): one source of truth for which
// mnemonic gets which virtualization colour. Table mnemonics and their NASM aliases take the table's class;
// mnemonics the table does not model (x87, SSE, rdpmc…) keep the fallback lists of instruction-classes.ts.
import { FORMS_BY_MNEMONIC, MNEMONIC_ALIASES } from '../../src/emulator/isa/table';
import type { VirtualizationClass } from '../../src/emulator/isa/types';
import { fallbackVocabulary, operandDependentMnemonics, type GrammarVocabulary } from './grammar-rules';
import type { GrammarInstructionClass } from './instruction-classes';

const grammarClassOf: Record<VirtualizationClass, GrammarInstructionClass> = {
  privileged: 'privileged',
  'io-sensitive': 'io',
  'sensitive-unprivileged': 'sensitive',
  'vmx-exits': 'vmx',
  innocuous: 'plain',
};

/**
 * Class of a table mnemonic for the grammar: the class all its forms share, or 'plain' when its forms differ
 * (MOV, PUSH, JMP…), in which case the grammar's operand-dependent rules colour the special forms. A mixed
 * mnemonic the grammar has no operand rule for is an error, so a new table row cannot be silently mis-coloured.
 */
export function tableClassOf(mnemonic: string): GrammarInstructionClass | undefined {
  const forms = FORMS_BY_MNEMONIC.get(mnemonic);
  if (!forms) return undefined;
  const classes = new Set(forms.map((f) => f.virtualization));
  if (classes.size === 1) return grammarClassOf[[...classes][0]!];
  if (!operandDependentMnemonics.includes(mnemonic)) {
    throw new Error(`table mnemonic '${mnemonic}' mixes classes ${[...classes].join(', ')}; add an operand rule to grammar-rules.ts`);
  }
  return 'plain';
}

export function vocabularyFromIsa(): GrammarVocabulary {
  const byClass: Record<GrammarInstructionClass, Set<string>> = {
    privileged: new Set(), io: new Set(), sensitive: new Set(), vmx: new Set(), plain: new Set(),
  };
  const classOfSpelling = new Map<string, GrammarInstructionClass>();
  for (const mnemonic of FORMS_BY_MNEMONIC.keys()) classOfSpelling.set(mnemonic, tableClassOf(mnemonic)!);
  for (const [alias, canonical] of MNEMONIC_ALIASES) classOfSpelling.set(alias, tableClassOf(canonical)!);
  for (const grammarClass of Object.keys(byClass) as GrammarInstructionClass[]) {
    for (const mnemonic of fallbackVocabulary[grammarClass]) {
      if (!classOfSpelling.has(mnemonic)) classOfSpelling.set(mnemonic, grammarClass);
    }
  }
  for (const [mnemonic, grammarClass] of classOfSpelling) byClass[grammarClass].add(mnemonic);
  const sorted = (c: GrammarInstructionClass) => [...byClass[c]].sort();
  return {
    privileged: sorted('privileged'), io: sorted('io'), sensitive: sorted('sensitive'), vmx: sorted('vmx'),
    plain: sorted('plain'),
  };
}
