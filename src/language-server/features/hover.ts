// Hover: instructions (forms, flags, virtualization class), registers, and the document's own symbols
// (labels, equ constants with their value text, %define bodies, macros with their parameter counts).
import type { Hover, Position } from 'vscode-languageserver';
import type { DocumentIndex } from '../analysis/documentIndex';
import { describeMnemonic } from './instructionInfo';
import { REGISTER_DOCS } from './registers';
import { describeHypercall, hypercallNamed } from './paravirtual';
import { wordAt } from './words';

export function hoverAt(text: string, index: DocumentIndex, position: Position): Hover | null {
  const word = wordAt(text, position);
  if (!word) return null;
  const range = { start: { line: position.line, character: word.start }, end: { line: position.line, character: word.end } };
  const lower = word.text.toLowerCase();
  const site = index.instructions.find((s) => s.line === position.line && s.start === word.start);
  if (site) {
    const md = describeMnemonic(word.text);
    const hypercallNote = site.hypercall ? '\n\n**int 0x82** is the paravirtual hypercall gate: EAX = hypercall number, arguments in EBX, ECX, EDX, ESI, EDI, result in EAX.' : '';
    if (md) return { contents: { kind: 'markdown', value: md + hypercallNote }, range };
  }
  const call = /HYPERVISOR_/.test(word.text) ? hypercallNamed(word.text) : undefined;
  if (call) return { contents: { kind: 'markdown', value: describeHypercall(call) }, range };
  const reg = REGISTER_DOCS.get(lower);
  if (reg) return { contents: { kind: 'markdown', value: `**${lower}** — ${reg}` }, range };
  const local = word.text.startsWith('.') ? index.definitions.filter((d) => d.written === word.text && d.line <= position.line).pop() : undefined;
  const def = local ?? index.byName.get(word.text) ?? index.definitions.find((d) => d.written === word.text);
  if (def) {
    const head = def.kind === 'macro' ? `%macro ${def.name} ${def.parameters ?? ''}` : def.kind === 'define' ? `%define ${def.name}${def.parameterNames ? `(${def.parameterNames.join(', ')})` : ''} ${def.valueText ?? ''}` : def.kind === 'constant' ? `${def.name} equ ${def.valueText ?? ''}` : `${def.name}:`;
    const body = [`\`\`\`nasm\n${head.trim()}\n\`\`\``, `*${def.kind.replace('-', ' ')}*, defined on line ${def.line + 1}`];
    if (def.doc) body.push(def.doc);
    return { contents: { kind: 'markdown', value: body.join('\n\n') }, range };
  }
  return null;
}
