// Chooses the grammar's vocabulary: the instruction table's virtualization classes once src/emulator/isa
// exports them (one source of truth), the grammar's own fallback lists until then.
import { fallbackVocabulary, type GrammarVocabulary } from './grammar-rules';

export function vocabularyFromIsa(): GrammarVocabulary {
  return fallbackVocabulary;
}
