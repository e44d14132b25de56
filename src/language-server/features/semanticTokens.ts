// Semantic tokens that set privileged, sensitive-unprivileged, I/O-sensitive, VMX and hypercall
// instructions apart from innocuous ones, plus labels, constants and macros, so any theme can colour the
// virtualization classes (the TextMate grammar gives the same classes their own scopes).
import type { SemanticTokens, SemanticTokensLegend } from 'vscode-languageserver';
import type { DocumentIndex } from '../analysis/documentIndex';
import type { VirtualizationClass } from '../../emulator/isa/types';

export const TOKEN_TYPES = ['keyword', 'function', 'variable', 'macro', 'label'] as const;
/** Modifiers carry the virtualization class; `declaration` marks definitions. */
export const TOKEN_MODIFIERS = ['privileged', 'sensitive', 'ioSensitive', 'vmx', 'hypercall', 'declaration'] as const;
export const SEMANTIC_LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

const MODIFIER_OF: Record<VirtualizationClass, number> = {
  privileged: 1 << 0,
  'sensitive-unprivileged': 1 << 1,
  'io-sensitive': 1 << 2,
  'vmx-exits': 1 << 3,
  innocuous: 0,
};
const HYPERCALL = 1 << 4;
const DECLARATION = 1 << 5;
const type = (t: (typeof TOKEN_TYPES)[number]) => TOKEN_TYPES.indexOf(t);

interface RawToken { line: number; start: number; length: number; type: number; modifiers: number }

export function semanticTokens(index: DocumentIndex): SemanticTokens {
  const raw: RawToken[] = [];
  for (const s of index.instructions) {
    raw.push({ line: s.line, start: s.start, length: s.end - s.start, type: type('keyword'), modifiers: MODIFIER_OF[s.virtualization] | (s.hypercall ? HYPERCALL : 0) });
  }
  for (const d of index.definitions) {
    const t = d.kind === 'macro' ? 'macro' : d.kind === 'constant' || d.kind === 'define' ? 'variable' : 'label';
    raw.push({ line: d.line, start: d.start, length: d.end - d.start, type: type(t), modifiers: DECLARATION });
  }
  for (const r of index.references) {
    const def = index.byName.get(r.name);
    if (!def) continue;
    const t = def.kind === 'macro' ? 'macro' : def.kind === 'constant' || def.kind === 'define' ? 'variable' : 'label';
    raw.push({ line: r.line, start: r.start, length: r.end - r.start, type: type(t), modifiers: 0 });
  }
  raw.sort((a, b) => a.line - b.line || a.start - b.start);
  const data: number[] = [];
  let prevLine = 0;
  let prevStart = 0;
  for (const t of raw) {
    const deltaLine = t.line - prevLine;
    data.push(deltaLine, deltaLine === 0 ? t.start - prevStart : t.start, t.length, t.type, t.modifiers);
    prevLine = t.line;
    prevStart = t.start;
  }
  return { data };
}
