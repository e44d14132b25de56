// Per-mnemonic documentation for the language server's hover and completion: a summary paragraph plus
// what trap-and-emulate, binary translation, paravirtualization and VT-x do with the instruction. Built
// once from the table (every table mnemonic has an entry; aliases resolve through docFor).

import { CONDITION_CODES } from './form-builder';
import { CLASS_TECHNIQUES, stringSummary, SUMMARIES, TECHNIQUE_OVERRIDES } from './docs-text';
import { canonicalMnemonic, FORMS_BY_MNEMONIC } from './table';
import type { InstructionForm, MnemonicDoc, VirtualizationClass } from './types';

const CONDITION_TEXT: Readonly<Record<string, string>> = {
  o: 'overflow (OF = 1)', no: 'no overflow (OF = 0)', c: 'carry / below (CF = 1)', nc: 'no carry / above or equal (CF = 0)',
  z: 'zero / equal (ZF = 1)', nz: 'not zero / not equal (ZF = 0)', na: 'below or equal (CF = 1 or ZF = 1)',
  a: 'above (CF = 0 and ZF = 0)', s: 'sign (SF = 1)', ns: 'no sign (SF = 0)', pe: 'parity even (PF = 1)',
  po: 'parity odd (PF = 0)', l: 'less (SF != OF)', nl: 'greater or equal (SF = OF)',
  ng: 'less or equal (ZF = 1 or SF != OF)', g: 'greater (ZF = 0 and SF = OF)',
};

function conditionSummary(mnemonic: string): string | undefined {
  for (const [cc] of CONDITION_CODES) {
    const condition = CONDITION_TEXT[cc];
    if (mnemonic === `j${cc}`) return `Jumps (short rel8 or near rel32) if ${condition}.`;
    if (mnemonic === `set${cc}`) return `Sets the byte operand to 1 if ${condition}, else to 0.`;
    if (mnemonic === `cmov${cc}`) return `Moves the source into the register if ${condition} (the load happens either way).`;
  }
  return undefined;
}

/** The most restrictive class among a mnemonic's forms (e.g. MOV: privileged for MOV CRn). */
const CLASS_RANK: readonly VirtualizationClass[] = ['vmx-exits', 'privileged', 'io-sensitive', 'sensitive-unprivileged', 'innocuous'];

function strongestClass(forms: readonly InstructionForm[]): VirtualizationClass {
  for (const cls of CLASS_RANK) if (forms.some((f) => f.virtualization === cls)) return cls;
  return 'innocuous';
}

export const MNEMONIC_DOCS: ReadonlyMap<string, MnemonicDoc> = (() => {
  const docs = new Map<string, MnemonicDoc>();
  for (const [mnemonic, forms] of FORMS_BY_MNEMONIC) {
    const summary = SUMMARIES[mnemonic] ?? conditionSummary(mnemonic) ?? stringSummary(mnemonic) ??
      `${forms[0]?.sdm ?? mnemonic}.`;
    const cls = strongestClass(forms);
    docs.set(mnemonic, { mnemonic, summary, techniques: { ...CLASS_TECHNIQUES[cls], ...TECHNIQUE_OVERRIDES[mnemonic] } });
  }
  return docs;
})();

/** Documentation for a spelling the assembler accepts (table mnemonic or alias), or undefined. */
export function docFor(spelling: string): MnemonicDoc | undefined {
  const canonical = canonicalMnemonic(spelling);
  return canonical === undefined ? undefined : MNEMONIC_DOCS.get(canonical);
}
