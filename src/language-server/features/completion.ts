// Completion: instruction mnemonics with operand templates (from the instruction table), registers,
// NASM directives and preprocessor keywords, and the document's labels, constants, %defines and macros.
import { CompletionItemKind, InsertTextFormat, type CompletionItem } from 'vscode-languageserver';
import type { DocumentIndex } from '../analysis/documentIndex';
import { allMnemonicSpellings, formsOf } from '../../emulator/isa/table';
import { CLASS_LABEL, operandTemplate } from './instructionInfo';
import { hypercallCompletions } from './paravirtual';
import { REGISTER_DOCS } from './registers';

const DIRECTIVES = ['section', 'segment', 'bits', 'org', 'align', 'alignb', 'global', 'extern', 'times', 'equ', 'db', 'dw', 'dd', 'dq', 'dt', 'resb', 'resw', 'resd', 'resq', 'struc', 'endstruc', 'istruc', 'at', 'iend', 'incbin'];
const PREPROCESSOR = ['%define', '%undef', '%assign', '%macro', '%endmacro', '%rep', '%endrep', '%include', '%if', '%elif', '%else', '%endif', '%ifdef', '%ifndef'];
const SIZES = ['byte', 'word', 'dword', 'qword', 'tword', 'short', 'near', 'far', 'strict'];

/** Items valid at a position; `linePrefix` is the text of the line before the cursor. */
export function completionsAt(index: DocumentIndex, linePrefix: string): CompletionItem[] {
  const items: CompletionItem[] = [];
  const trimmed = linePrefix.replace(/^\s*([A-Za-z_.?@][\w.$#@~?]*:\s*)?/, '');
  const atMnemonic = !/\s/.test(trimmed.trim()) && !trimmed.includes(',');
  if (trimmed.startsWith('%')) {
    for (const p of PREPROCESSOR) items.push({ label: p, kind: CompletionItemKind.Keyword, insertText: p.slice(1), filterText: p });
    return items;
  }
  if (atMnemonic) {
    for (const m of allMnemonicSpellings()) {
      const forms = formsOf(m);
      const withOperands = forms.find((f) => f.operands.length > 0);
      const item: CompletionItem = { label: m, kind: CompletionItemKind.Keyword, detail: [...new Set(forms.map((f) => CLASS_LABEL[f.virtualization]))].join(' / '), data: { mnemonic: m } };
      if (withOperands && forms.every((f) => f.operands.length > 0)) {
        item.insertText = `${m} ${operandTemplate(withOperands)}`;
        item.insertTextFormat = InsertTextFormat.Snippet;
      }
      items.push(item);
    }
    for (const d of DIRECTIVES) items.push({ label: d, kind: CompletionItemKind.Keyword, detail: 'directive' });
    for (const d of index.definitions) if (d.kind === 'macro') items.push({ label: d.name, kind: CompletionItemKind.Function, detail: `macro ${d.parameters ?? ''}`.trim() });
    return items;
  }
  for (const [r, doc] of REGISTER_DOCS) items.push({ label: r, kind: CompletionItemKind.Variable, detail: doc });
  for (const s of SIZES) items.push({ label: s, kind: CompletionItemKind.Keyword });
  items.push(...hypercallCompletions());
  for (const d of index.definitions) {
    if (d.kind === 'macro') continue;
    items.push({ label: d.kind === 'local-label' ? d.written : d.name, kind: d.kind === 'constant' || d.kind === 'define' ? CompletionItemKind.Constant : CompletionItemKind.Reference, detail: d.valueText ?? d.kind });
  }
  return items;
}
