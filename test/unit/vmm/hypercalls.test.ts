// Tests for the paravirtual hypercall ABI: the table, and samples/include/hypercall.inc assembled with the real
// nasm (the include's numbers and constants must equal the table; the macros must produce the ABI's bytes).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  HYPERCALLS, HYPERCALL_VECTOR, HypercallConstants, PvSelectors, SharedInfoLayout, hypercallByName, hypercallLabel,
} from '../../../src/emulator/vmm/hypercalls';
import { SAMPLES_INCLUDE, nasm, scratchDir } from './tools';

const INCLUDE = readFileSync(path.join(SAMPLES_INCLUDE, 'hypercall.inc'), 'utf8');

function includeConstants(): Map<string, number> {
  const constants = new Map<string, number>();
  for (const match of INCLUDE.matchAll(/^(\w+)\s+equ\s+(0x[0-9a-f]+|\d+)/gim)) constants.set(match[1]!, Number(match[2]!));
  return constants;
}

describe('hypercall ABI table', () => {
  it('uses Xen numbers for the Xen calls it has', () => {
    const xen: Record<string, number> = {
      set_trap_table: 0, mmu_update: 1, stack_switch: 3, set_callbacks: 4, multicall: 13, update_va_mapping: 14,
      set_timer_op: 15, xen_version: 17, console_io: 18, iret: 23, mmuext_op: 26, sched_op: 29, event_channel_op: 32,
    };
    assert.deepEqual(Object.fromEntries(HYPERCALLS.map((c) => [c.name, c.number])), xen);
    assert.equal(HYPERCALL_VECTOR, 0x82);
    assert.equal(hypercallLabel(18), 'hypercall 18 console_io');
    assert.equal(hypercallLabel(99), 'hypercall 99 (unknown)');
  });

  it('passes arguments only in EBX, ECX, EDX, ESI, EDI, in that order', () => {
    const order = ['ebx', 'ecx', 'edx', 'esi', 'edi'];
    for (const call of HYPERCALLS) assert.deepEqual(call.args.map((a) => a.register), order.slice(0, call.args.length), call.name);
    assert.deepEqual(HYPERCALLS.filter((c) => c.paging).map((c) => c.name), ['mmu_update', 'update_va_mapping', 'mmuext_op']);
  });
});

describe('samples/include/hypercall.inc', () => {
  it('defines every hypercall number and constant exactly as the table does', () => {
    const constants = includeConstants();
    for (const call of HYPERCALLS) assert.equal(constants.get(`__HYPERVISOR_${call.name}`), call.number, call.name);
    for (const [name, value] of Object.entries(HypercallConstants)) {
      if (name === 'ABI_VERSION') continue;
      assert.equal(constants.get(name), value, name);
    }
    for (const [name, value] of Object.entries(PvSelectors)) assert.equal(constants.get(name), value, name);
    for (const [name, value] of Object.entries(SharedInfoLayout)) assert.equal(constants.get(`SHINFO_${name}`), value, name);
    assert.equal(constants.get('HYPERCALL_VECTOR'), HYPERCALL_VECTOR);
    assert.ok(hypercallByName('console_io'));
  });

  it('assembles with the real nasm into the ABI calling sequence', () => {
    const dir = scratchDir('hypercall');
    const source = path.join(dir, 'calls.asm');
    writeFileSync(
      source,
      [
        'bits 32',
        '%include "hypercall.inc"',
        'org 0x1000',
        'HYPERVISOR_console_write 0x2000, 5',
        'HYPERVISOR_shutdown 0x10',
        'PV_CLI 0x5000',
        'traps: TRAP_INFO 0x80, 3 | TI_FAST, FLAT_RING1_CS, 0x12345678',
        'TRAP_INFO_END',
        'calls: MULTICALL_ENTRY console_io, CONSOLEIO_write, 2, 0x2000',
      ].join('\n'),
    );
    const bytes = [...readFileSync(nasm(source, path.join(dir, 'calls.bin'), 'bin'))];
    const hex = (list: number[]) => Buffer.from(list).toString('hex');
    const expected = [
      0xbb, 0, 0, 0, 0, 0xb9, 5, 0, 0, 0, 0xba, 0, 0x20, 0, 0, 0xb8, 18, 0, 0, 0, 0xcd, 0x82, // console_io(write, 5, 0x2000)
      0xbb, 2, 0, 0, 0, 0xb9, 0, 0, 0, 0, 0xba, 0x10, 0, 0, 0, 0xb8, 29, 0, 0, 0, 0xcd, 0x82, // sched_op(shutdown, poweroff, 0x10)
      0xc6, 0x05, 0x01, 0x50, 0, 0, 1, // mov byte [0x5001], 1
      0x80, 0x0b, 0x19, 0x08, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, // trap_info + terminator
      18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // multicall entry
    ];
    assert.equal(hex(bytes), hex(expected));
  });
});
