// SPDX-License-Identifier: MIT
// The Debug Console's `info tss|tab|vmcs|tc|stats` (Bochs internal debugger vocabulary, extended with the
// VMM's structures): the 32-bit TSS at TR (SDM Vol. 3A 7.2.1, Figure 7-2), the linear→physical mappings of
// the current page tables (SDM Vol. 3A 4.3, two-level 32-bit paging with 4 KiB and 4 MiB pages), the current
// VMCS as the engine groups and decodes it (SDM Vol. 3C 25.3–25.9), the binary-translation cache, and the
// VMM's counters (exits by SDM reason, memory-virtualization counters, transitions). The VMM parts use the
// engine's optional inspection methods (src/emulator/vmm/inspection.ts) when the technique has them.
import { CR, TR_BASE, TR_LIMIT, TR_SELECTOR } from '../emulator/cpu/stateLayout';
import type { DebugRuntime } from './runtime';

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;

/** At most this many mapping rows from `info tab` (a full 4 GiB identity map is one row per run anyway). */
const MAX_TAB_ROWS = 64;

export function describeTss(runtime: DebugRuntime): string {
  const s = runtime.regs.core.s;
  const selector = s[TR_SELECTOR]! & 0xffff;
  const base = s[TR_BASE]! >>> 0;
  const limit = s[TR_LIMIT]! >>> 0;
  if (selector === 0 && limit === 0) return 'TR is 0: no TSS loaded (ltr has not run)';
  const bytes = runtime.readBytes(base, 104);
  if (bytes.length < 104) return `TSS at ${hex(base)} (TR ${hex(selector, 4)}) is not mapped`;
  const d = (o: number): number => (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
  const w = (o: number): number => bytes[o]! | (bytes[o + 1]! << 8);
  const rows = [
    `TSS at ${hex(base)}, limit ${hex(limit, 4)}, TR ${hex(selector, 4)} (32-bit TSS, SDM Vol. 3A Figure 7-2)`,
    `  previous task link ${hex(w(0), 4)}`,
    `  ring 0 stack  ss0:esp0 = ${hex(w(8), 4)}:${hex(d(4))}   (used when an interrupt enters ring 0)`,
    `  ring 1 stack  ss1:esp1 = ${hex(w(16), 4)}:${hex(d(12))}`,
    `  ring 2 stack  ss2:esp2 = ${hex(w(24), 4)}:${hex(d(20))}`,
    `  cr3 ${hex(d(28))}  eip ${hex(d(32))}  eflags ${hex(d(36))}`,
    `  eax ${hex(d(40))} ecx ${hex(d(44))} edx ${hex(d(48))} ebx ${hex(d(52))}`,
    `  esp ${hex(d(56))} ebp ${hex(d(60))} esi ${hex(d(64))} edi ${hex(d(68))}`,
    `  es ${hex(w(72), 4)} cs ${hex(w(76), 4)} ss ${hex(w(80), 4)} ds ${hex(w(84), 4)} fs ${hex(w(88), 4)} gs ${hex(w(92), 4)} ldt ${hex(w(96), 4)}`,
    `  debug trap ${w(100) & 1}, I/O map base ${hex(w(102), 4)}${w(102) > limit ? ' (beyond the limit: no I/O permission bitmap)' : ''}`,
  ];
  if (runtime.virtualCpu() !== undefined) rows.push('  (under a VMM this is the real TSS the VMM owns; the guest\'s own TSS is at the virtual TR)');
  return rows.join('\n');
}

export function describePageTables(runtime: DebugRuntime): string {
  const s = runtime.regs.core.s;
  const cr0 = s[CR]! >>> 0;
  const cr3 = s[CR + 3]! >>> 0;
  const cr4 = s[CR + 4]! >>> 0;
  if ((cr0 & 0x80000000) === 0) return 'paging is off (CR0.PG = 0): linear addresses are physical addresses';
  const machine = runtime.machineInstance;
  const read32 = (physical: number): number => {
    let v = 0;
    for (let i = 0; i < 4; i++) v |= (machine.peekPhysical(physical + i) ?? 0) << (8 * i);
    return v >>> 0;
  };
  const rows = [`page directory at ${hex(cr3 & 0xfffff000)} (CR3); mappings linear → physical (SDM Vol. 3A 4.3):`];
  let run: { linear: number; physical: number; size: number; flags: string } | undefined;
  let truncated = false;
  const flush = (): void => {
    if (run === undefined) return;
    if (rows.length > MAX_TAB_ROWS) truncated = true;
    else rows.push(`  ${hex(run.linear)}-${hex(run.linear + run.size - 1)} → ${hex(run.physical)}-${hex(run.physical + run.size - 1)} ${run.flags}`);
    run = undefined;
  };
  const add = (linear: number, physical: number, size: number, entry: number): void => {
    const flags = `${(entry & 2) !== 0 ? 'RW' : 'RO'} ${(entry & 4) !== 0 ? 'user' : 'supervisor'}`;
    if (run !== undefined && run.linear + run.size === linear && run.physical + run.size === physical && run.flags === flags) {
      run.size += size;
      return;
    }
    flush();
    run = { linear, physical, size, flags };
  };
  for (let pdi = 0; pdi < 1024 && !truncated; pdi++) {
    const pde = read32((cr3 & 0xfffff000) + pdi * 4);
    if ((pde & 1) === 0) { flush(); continue; }
    if ((pde & 0x80) !== 0 && (cr4 & 0x10) !== 0) { add(pdi << 22, pde & 0xffc00000, 0x400000, pde); continue; }
    for (let pti = 0; pti < 1024; pti++) {
      const pte = read32((pde & 0xfffff000) + pti * 4);
      if ((pte & 1) === 0) { flush(); continue; }
      add(((pdi << 22) | (pti << 12)) >>> 0, pte & 0xfffff000, 0x1000, pte & pde);
    }
  }
  flush();
  if (truncated) rows.push(`  … (more than ${MAX_TAB_ROWS} runs; use x/ and evaluate on addresses of interest)`);
  if (rows.length === 1) rows.push('  no present mappings');
  return rows.join('\n');
}

export function describeVmcs(runtime: DebugRuntime): string {
  const engine = runtime.vmmEngine;
  const info = engine?.vmcsInfo?.();
  if (info === undefined) return `no VMCS: the ${runtime.technique} technique does not use VT-x (try "technique": "hardware-assisted")`;
  const rows = [`VMCS${info.pointer === undefined ? '' : ` at ${hex(info.pointer)}`}, ${info.launchState}`];
  for (const group of info.groups) {
    rows.push(`${group.name}:`);
    for (const f of group.fields) rows.push(`  ${hex(f.encoding, 4)} ${f.name} = ${f.value}${f.decoded === undefined ? '' : `  (${f.decoded})`}`);
  }
  return rows.join('\n');
}

export function describeTranslationCache(runtime: DebugRuntime): string {
  const tc = runtime.vmmEngine?.translationCache?.();
  if (tc === undefined) return `no translation cache: the ${runtime.technique} technique does not translate guest code (try "technique": "binary-translation")`;
  const rows = [`translation cache: ${tc.usedBytes} of ${tc.capacityBytes} bytes, ${tc.translations.length} translations; ${Object.entries(tc.counters).map(([k, v]) => `${k} ${v}`).join(', ')}`];
  for (const t of tc.translations.slice(0, 64)) {
    const rewritten = t.instructions.filter((i) => i.rewrite !== 'ident');
    rows.push(`  #${t.id} guest ${hex(t.guestStart)}-${hex(t.guestEnd)} → TC ${hex(t.tcStart)}-${hex(t.tcEnd)}, ${t.instructions.length} instructions, ${rewritten.length} rewritten, hits ${t.hits}${t.invalidated === undefined ? '' : `, invalidated: ${t.invalidated}`}`);
    for (const i of rewritten) rows.push(`      ${hex(i.guestAddress)} ${i.original} → ${i.rewrite}: ${i.translated.join('; ')}${i.why === '' ? '' : `  (${i.why})`}`);
  }
  if (tc.translations.length > 64) rows.push(`  … ${tc.translations.length - 64} more`);
  return rows.join('\n');
}

export function describeStats(runtime: DebugRuntime): string {
  const engine = runtime.vmmEngine;
  const rows = [`instructions retired: ${runtime.retired()}`];
  if (engine === undefined) return `${rows[0]}\ntechnique native: no VMM counters`;
  rows.push(`technique ${engine.technique}; transitions recorded: ${engine.log.total}`);
  const exits = engine.exitCounts();
  rows.push(exits.length === 0 ? 'VMM entries by SDM exit reason: none yet' : 'VMM entries by SDM exit reason:');
  for (const e of exits) rows.push(`  ${String(e.reason).padStart(2)} ${e.name}: ${e.count}`);
  const memory = engine.memoryStats?.();
  if (memory !== undefined) {
    rows.push(`memory virtualization: ${memory.scheme}`);
    for (const [k, v] of Object.entries(memory.counters)) rows.push(`  ${k}: ${v}`);
  }
  return rows.join('\n');
}
