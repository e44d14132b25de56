// SPDX-License-Identifier: MIT
// Debug Console commands in the spirit of the Bochs internal debugger (bochs.sourceforge.io, "internal
// debugger"): `x/NF addr` examines memory (F: b bytes, w words, x/d dwords in hex/decimal, i instructions,
// s string), `info gdt` and `info idt` decode descriptor tables (SDM Vol. 3A 3.4.5, 6.11), `info layers`
// shows the privilege layers; `info tss|tab|vmcs|tc|stats` are in inspectCommands.ts. Anything else typed in
// the console is an expression (expressions.ts).
import { disassembleOne } from '../emulator/disasm/disassembler';
import { guestLayerAtCpl, LAYER_INFO } from '../emulator/vmm/layers';
import { describeAccess } from './variables';
import { describePageTables, describeStats, describeTranslationCache, describeTss, describeVmcs } from './inspectCommands';
import type { DebugRuntime } from './runtime';

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;

/** True when the console text is a command rather than an expression. */
export function isConsoleCommand(text: string): boolean {
  return /^\s*(x\/|x\s|info\b|help\b)/i.test(text);
}

/** Runs a console command; returns its text or throws an Error with a usage hint. */
export function runConsoleCommand(runtime: DebugRuntime, text: string): string {
  const line = text.trim();
  const x = /^x(?:\/(\d*)([bwxdis]?))?\s+(.+)$/i.exec(line);
  if (x !== null) return examine(runtime, x[1] === undefined || x[1] === '' ? 8 : Number(x[1]), (x[2] || 'x').toLowerCase(), runtime.evaluate(x[3]!));
  const info = /^info\s+(\w+)\s*$/i.exec(line);
  if (info !== null) {
    switch (info[1]!.toLowerCase()) {
      case 'gdt': return describeGdt(runtime);
      case 'idt': return describeIdt(runtime);
      case 'layers': return describeLayers(runtime);
      case 'tss': return describeTss(runtime);
      case 'tab': return describePageTables(runtime);
      case 'vmcs': return describeVmcs(runtime);
      case 'tc': return describeTranslationCache(runtime);
      case 'stats': return describeStats(runtime);
      default: break;
    }
  }
  return 'commands: x/NF addr (F = b w x d i s), info gdt|idt|tss|tab|vmcs|tc|layers|stats; anything else is an expression (eax+4, dword [esp+8], label)';
}

/** The console commands, for completion. */
export const CONSOLE_COMMANDS: readonly string[] = ['info gdt', 'info idt', 'info tss', 'info tab', 'info vmcs', 'info tc', 'info layers', 'info stats', 'x/8x ', 'x/8i ', 'x/s ', 'help'];

function examine(runtime: DebugRuntime, count: number, format: string, address: number): string {
  const n = Math.min(Math.max(count, 1), 256);
  if (format === 'i') {
    const rows: string[] = [];
    let at = address >>> 0;
    for (let k = 0; k < n; k++) {
      const bytes = runtime.readBytes(at, 15);
      if (bytes.length === 0) break;
      const insn = disassembleOne(bytes, 0, at, { symbolize: (a) => runtime.program?.symbolize(a, true) });
      const label = runtime.program?.symbolize(at, true);
      rows.push(`${hex(at)}${label ? ` <${label}>` : ''}: ${insn.text}`);
      at = (at + insn.length) >>> 0;
    }
    return rows.join('\n');
  }
  if (format === 's') {
    const bytes = runtime.readBytes(address, 256);
    const end = bytes.indexOf(0);
    return `${hex(address)}: ${JSON.stringify(new TextDecoder('latin1').decode(bytes.subarray(0, end < 0 ? bytes.length : end)))}`;
  }
  const size = format === 'b' ? 1 : format === 'w' ? 2 : 4;
  const perLine = 16 / size;
  const bytes = runtime.readBytes(address, n * size);
  const rows: string[] = [];
  for (let k = 0; k * size < bytes.length; k += perLine) {
    const items: string[] = [];
    for (let j = k; j < Math.min(k + perLine, Math.floor(bytes.length / size)); j++) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= bytes[j * size + i]! << (8 * i);
      items.push(format === 'd' ? String(v | 0) : hex(v, size * 2));
    }
    rows.push(`${hex(address + k * size)}: ${items.join(' ')}`);
  }
  if (bytes.length < n * size) rows.push(`(${hex(address + bytes.length)} is not mapped)`);
  return rows.join('\n');
}

function describeGdt(runtime: DebugRuntime): string {
  const { base, limit } = runtime.regs.descriptorTable('gdtr');
  const rows = [`GDT at ${hex(base)}, limit ${hex(limit, 4)} (${Math.floor((limit + 1) / 8)} entries)`];
  for (let index = 0; index * 8 + 7 <= limit && index < 64; index++) {
    const bytes = runtime.readBytes(base + index * 8, 8);
    if (bytes.length < 8) break;
    const low = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
    const high = (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
    if (low === 0 && high === 0) {
      rows.push(`  ${hex(index * 8, 4)}: null`);
      continue;
    }
    const segBase = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
    let segLimit = (low & 0xffff) | (high & 0xf0000);
    if ((high & 0x800000) !== 0) segLimit = ((segLimit << 12) | 0xfff) >>> 0;
    rows.push(`  ${hex(index * 8, 4)}: base=${hex(segBase)} limit=${hex(segLimit)} ${describeAccess((high >>> 8) & 0xffff)}`);
  }
  return rows.join('\n');
}

const GATE_TYPES: Readonly<Record<number, string>> = { 5: 'task gate', 6: '16-bit interrupt gate', 7: '16-bit trap gate', 14: 'interrupt gate', 15: 'trap gate' };

function describeIdt(runtime: DebugRuntime): string {
  const { base, limit } = runtime.regs.descriptorTable('idtr');
  const rows = [`IDT at ${hex(base)}, limit ${hex(limit, 4)} (${Math.floor((limit + 1) / 8)} gates); present gates:`];
  for (let vector = 0; vector * 8 + 7 <= limit && vector < 256; vector++) {
    const bytes = runtime.readBytes(base + vector * 8, 8);
    if (bytes.length < 8) break;
    const present = (bytes[5]! & 0x80) !== 0;
    if (!present) continue;
    const offset = (bytes[0]! | (bytes[1]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
    const selector = bytes[2]! | (bytes[3]! << 8);
    const type = bytes[5]! & 0xf;
    const dpl = (bytes[5]! >> 5) & 3;
    const target = runtime.program?.symbolize(offset);
    rows.push(`  ${hex(vector, 2)}: ${hex(selector, 4)}:${hex(offset)}${target ? ` <${target}>` : ''} ${GATE_TYPES[type] ?? `type ${type}`}, DPL ${dpl}`);
  }
  return rows.join('\n');
}

function describeLayers(runtime: DebugRuntime): string {
  const frames = runtime.layerFrames();
  if (frames === undefined) {
    const layer = guestLayerAtCpl(runtime.regs.cpl());
    return `technique native: no VMM. Running layer: ${LAYER_INFO[layer].title} at CPL ${runtime.regs.cpl()} (the whole call stack is one layer).`;
  }
  const rows = [`technique ${runtime.technique}; layer stack, running layer first:`];
  for (const f of [...frames].reverse()) rows.push(`  ${LAYER_INFO[f.layer].title}${f.enteredBy === undefined ? ' (start)' : ` ← ${f.enteredBy}: ${f.reason}`}`);
  return rows.join('\n');
}
