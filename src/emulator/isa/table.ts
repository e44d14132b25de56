// The IA-32 instruction table: every encoding form HyperStep's decoder, CPU, assembler, disassembler and
// language server know, as one readonly array (INSTRUCTION_FORMS), plus lookups derived from it.
// Category rows live in table-*.ts; docs per mnemonic in docs.ts.

import { buildForms, CONDITION_CODES } from './form-builder';
import { ARITHMETIC_ROWS } from './table-arith';
import { CONTROL_ROWS, STRING_ROWS } from './table-control';
import { DATA_ROWS } from './table-data';
import { SYSTEM_ROWS, VMX_ROWS } from './table-system';
import type { InstructionForm, Privilege, VirtualizationClass } from './types';

function defaultClass(): { virt: VirtualizationClass; priv: Privilege } {
  return { virt: 'innocuous', priv: 'any' };
}

function assemble(): readonly InstructionForm[] {
  const forms: InstructionForm[] = [];
  const groups = [
    ['data', DATA_ROWS], ['arithmetic', ARITHMETIC_ROWS], ['control', CONTROL_ROWS],
    ['string', STRING_ROWS], ['system', SYSTEM_ROWS], ['vmx', VMX_ROWS],
  ] as const;
  for (const [category, rows] of groups) forms.push(...buildForms(category, rows, forms.length, defaultClass));
  for (const form of forms) Object.freeze(form);
  return Object.freeze(forms);
}

/** Every instruction form, indexed by InstructionForm.index (the decoder's `formIndex`). */
export const INSTRUCTION_FORMS: readonly InstructionForm[] = assemble();

/**
 * Mnemonics NASM accepts as other spellings of a table mnemonic (NASM manual appendix B; condition-code
 * synonyms per Intel SDM Vol. 1 B.1). The table keeps ndisasm's spelling.
 */
export const MNEMONIC_ALIASES: ReadonlyMap<string, string> = (() => {
  const aliases = new Map<string, string>([
    ['pushfd', 'pushf'], ['popfd', 'popf'], ['pushad', 'pusha'], ['popad', 'popa'], ['iretd', 'iret'],
    ['retn', 'ret'], ['loopz', 'loope'], ['loopnz', 'loopne'],
  ]);
  for (const [cc, , others] of CONDITION_CODES) {
    for (const other of others) {
      aliases.set(`j${other}`, `j${cc}`);
      aliases.set(`set${other}`, `set${cc}`);
      aliases.set(`cmov${other}`, `cmov${cc}`);
    }
  }
  return aliases;
})();

/** Forms by table mnemonic, in table order (the encoder's preference order). */
export const FORMS_BY_MNEMONIC: ReadonlyMap<string, readonly InstructionForm[]> = (() => {
  const byMnemonic = new Map<string, InstructionForm[]>();
  for (const form of INSTRUCTION_FORMS) {
    const list = byMnemonic.get(form.mnemonic) ?? [];
    list.push(form);
    byMnemonic.set(form.mnemonic, list);
  }
  return byMnemonic;
})();

/** The table mnemonic for a spelling (alias or canonical), or undefined when it is not an instruction. */
export function canonicalMnemonic(spelling: string): string | undefined {
  const lower = spelling.toLowerCase();
  if (FORMS_BY_MNEMONIC.has(lower)) return lower;
  return MNEMONIC_ALIASES.get(lower);
}

/** All spellings the assembler accepts (table mnemonics and aliases), sorted: for completion and grammars. */
export function allMnemonicSpellings(): string[] {
  return [...FORMS_BY_MNEMONIC.keys(), ...MNEMONIC_ALIASES.keys()].sort();
}

export function formsOf(spelling: string): readonly InstructionForm[] {
  const canonical = canonicalMnemonic(spelling);
  return canonical === undefined ? [] : (FORMS_BY_MNEMONIC.get(canonical) ?? []);
}
