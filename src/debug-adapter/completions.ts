// SPDX-License-Identifier: MIT
// Completions for the Debug Console and watch expressions (DAP `completions`): registers and flags as the
// expression evaluator names them (expressions.ts, cpuAccess.ts), the program's labels, NASM size keywords,
// and the console commands (`info gdt|idt|tss|tab|vmcs|tc|layers|stats`, `x/NF`). No DAP types beyond the
// shape of the items: the session converts columns.
import { CONSOLE_COMMANDS } from './consoleCommands';
import { EFLAGS_BITS } from './cpuAccess';
import type { DebugRuntime } from './runtime';

export interface CompletionTarget {
  readonly label: string;
  readonly type: 'variable' | 'function' | 'keyword' | 'property';
  /** 0-based start of the text the item replaces, and its length. */
  readonly start: number;
  readonly length: number;
  readonly detail?: string;
}

const REGISTERS: readonly string[] = [
  'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags',
  'ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp', 'al', 'ah', 'bl', 'bh', 'cl', 'ch', 'dl', 'dh',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'cr0', 'cr2', 'cr3', 'cr4', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7',
];
const SIZE_KEYWORDS: readonly string[] = ['byte', 'word', 'dword'];
const INFO_TOPICS: readonly string[] = ['gdt', 'idt', 'tss', 'tab', 'vmcs', 'tc', 'layers', 'stats'];

/** The items for `text` with the cursor at 0-based `cursor`, best first (at most `limit`). */
export function completionTargets(runtime: DebugRuntime, text: string, cursor: number, limit = 200): CompletionTarget[] {
  const before = text.slice(0, Math.max(0, Math.min(cursor, text.length)));
  const info = /^\s*info\s+(\w*)$/i.exec(before);
  if (info !== null) {
    const word = info[1]!.toLowerCase();
    return INFO_TOPICS.filter((t) => t.startsWith(word)).map((t) => ({ label: t, type: 'keyword', start: before.length - word.length, length: word.length }));
  }
  const word = /[A-Za-z_.$@?][\w.$@?]*$/.exec(before)?.[0] ?? '';
  const start = before.length - word.length;
  const lower = word.toLowerCase();
  const out: CompletionTarget[] = [];
  const push = (label: string, type: CompletionTarget['type'], detail?: string): void => {
    if (out.length < limit && label.toLowerCase().startsWith(lower)) out.push({ label, type, start, length: word.length, ...(detail === undefined ? {} : { detail }) });
  };
  if (before.trim() === word) for (const c of CONSOLE_COMMANDS) push(c, 'keyword', 'console command');
  for (const r of REGISTERS) push(r, 'variable', `= 0x${((runtime.isLaunched ? runtime.register(r) : undefined) ?? 0).toString(16)}`);
  for (const f of EFLAGS_BITS) push(f.name.toLowerCase(), 'property', f.meaning);
  for (const k of SIZE_KEYWORDS) push(k, 'keyword');
  for (const name of runtime.program?.symbolNames() ?? []) push(name, 'function', 'label');
  return out;
}
