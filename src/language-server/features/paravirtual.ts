// Paravirtual help for guests written against HyperStep's hypercall ABI (samples/include/hypercall.inc,
// src/emulator/vmm/hypercalls.ts): hover and completion for hypercall names, and code actions that replace
// a privileged instruction with its paravirtual equivalent — the fix Xen's guest ports made by hand
// (Barham et al., SOSP 2003: "cli" becomes a store to the event mask in the shared-info page).
import { CodeActionKind, CompletionItemKind, type CodeAction, type CompletionItem, type Range } from 'vscode-languageserver';
import { HYPERCALLS, hypercallByName, type HypercallInfo } from '../../emulator/vmm/hypercalls';
import type { DocumentIndex } from '../analysis/documentIndex';
import { lineAt } from './words';

/** A document is a paravirtual guest when it includes the ABI or calls the hypercall gate. */
export function isParavirtualGuest(text: string, index: DocumentIndex): boolean {
  return /%include\s+["'<][^"'>]*hypercall\.inc/i.test(text) || index.instructions.some((s) => s.hypercall);
}

/** `__HYPERVISOR_console_io`, `HYPERVISOR_console_io` or `console_io` → the table entry. */
export function hypercallNamed(word: string): HypercallInfo | undefined {
  const m = /^(?:__)?HYPERVISOR_(\w+)$/.exec(word);
  return hypercallByName(m ? m[1]! : word);
}

export function describeHypercall(call: HypercallInfo): string {
  const lines = [`**hypercall ${call.number} ${call.name}** — \`int 0x82\` with EAX = ${call.number}`, '', call.description, ''];
  for (const a of call.args) lines.push(`- **${a.register.toUpperCase()}** ${a.name}: ${a.description}`);
  lines.push(`- **EAX** on return: ${call.result}`);
  if (call.differsFromXen) lines.push('', `*Differs from Xen:* ${call.differsFromXen}`);
  return lines.join('\n');
}

export function hypercallCompletions(): CompletionItem[] {
  return HYPERCALLS.map((c) => ({ label: `__HYPERVISOR_${c.name}`, kind: CompletionItemKind.Constant, detail: `hypercall ${c.number}`, documentation: { kind: 'markdown', value: describeHypercall(c) } }));
}

/** The operand naming the shared-info page: a symbol the guest defined for it, else a placeholder name. */
function sharedInfoOperand(index: DocumentIndex): string {
  return index.definitions.find((d) => /shared_?info/i.test(d.name))?.name ?? 'SHARED_INFO';
}

interface Rewrite {
  readonly test: RegExp;
  readonly title: string;
  readonly replacement: (index: DocumentIndex, match: RegExpExecArray) => string;
}

const REWRITES: readonly Rewrite[] = [
  { test: /^cli$/i, title: 'Replace cli with the paravirtual event-mask store (PV_CLI)', replacement: (i) => `PV_CLI ${sharedInfoOperand(i)}` },
  { test: /^sti$/i, title: 'Replace sti with the paravirtual unmask (PV_STI)', replacement: (i) => `PV_STI ${sharedInfoOperand(i)}` },
  { test: /^hlt$/i, title: 'Replace hlt with the block hypercall (sched_op block)', replacement: () => 'HYPERVISOR_block' },
  { test: /^mov\s+cr3\s*,\s*(\w+)$/i, title: 'Replace mov cr3 with the new_baseptr hypercall (mmuext_op)', replacement: (_i, m) => `shr ${m[1]}, 12\n    HYPERVISOR_new_baseptr ${m[1]}` },
];

/** Quick fixes for the instructions in `range` of a paravirtual guest. */
export function paravirtualCodeActions(uri: string, text: string, index: DocumentIndex, range: Range): CodeAction[] {
  if (!isParavirtualGuest(text, index)) return [];
  const actions: CodeAction[] = [];
  for (const site of index.instructions) {
    if (site.line < range.start.line || site.line > range.end.line) continue;
    const line = lineAt(text, site.line);
    const statement = line.slice(site.start).replace(/;.*$/, '').trimEnd();
    for (const rewrite of REWRITES) {
      const m = rewrite.test.exec(statement);
      if (!m) continue;
      const editRange = { start: { line: site.line, character: site.start }, end: { line: site.line, character: site.start + statement.length } };
      actions.push({ title: rewrite.title, kind: CodeActionKind.QuickFix, edit: { changes: { [uri]: [{ range: editRange, newText: rewrite.replacement(index, m) }] } } });
    }
  }
  return actions;
}
