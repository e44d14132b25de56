// Directives NASM implements as standard macros (section, bits, global, align, struc, …; NASM manual
// 5.x and its standard macro package): each expansion, and each context %push inside struc/istruc,
// consumes a number from the counter behind `%%label` names, so the preprocessor counts them to give
// macro-local labels NASM's exact `..@N.label` names (they appear in ELF symbol tables).

/** How many unique-label numbers each directive NASM implements as a standard macro consumes. */
const STANDARD_MACRO_COST: Readonly<Record<string, number>> = {
  section: 1, segment: 1, bits: 1, use16: 1, use32: 1, global: 1, extern: 1, static: 1, common: 1, cpu: 1,
  default: 1, sectalign: 1, absolute: 1, at: 1, endstruc: 1, iend: 1, align: 2, alignb: 2, struc: 2, istruc: 2,
};

/** True for a directive NASM implements as a standard macro (it consumes unique-label numbers). */
export function isStandardMacroDirective(word: string): boolean {
  return STANDARD_MACRO_COST[word.toLowerCase()] !== undefined;
}

/** The statement's directive (after an optional `label:`) and its cost, when it is a standard macro. */
export function standardMacroCost(text: string): { readonly word: string; readonly cost: number } | undefined {
  const m = /^\s*(?:[A-Za-z_.?@$][\w$#@~.?]*:\s*)?([A-Za-z]+)\b/.exec(text);
  if (!m) return undefined;
  const word = m[1]!.toLowerCase();
  const cost = STANDARD_MACRO_COST[word];
  return cost === undefined ? undefined : { word, cost };
}
