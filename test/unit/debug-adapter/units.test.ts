// SPDX-License-Identifier: MIT
// Unit tests of the adapter's pure parts: debugger expressions over the assembler's parser, launch
// argument validation, hit conditions and logpoint interpolation, exception-vector conditions, base64,
// and the layered call stack built from the VMM's layer stack (separators at layer boundaries).
import * as assert from 'node:assert/strict';
import { hitConditionMet, interpolate } from '../../../src/debug-adapter/breakpoints';
import { evaluateExpression, ExpressionError, type ExpressionScope } from '../../../src/debug-adapter/expressions';
import { composeLayeredStack, separatorLabel, type StackEntry } from '../../../src/debug-adapter/layeredStack';
import { validateLaunchArgs } from '../../../src/debug-adapter/launchArgs';
import { IMPLEMENTED_TECHNIQUES } from '../../../src/emulator/vmm/index';
import { TECHNIQUES } from '../../../src/emulator/vmm/layers';
import { Program } from '../../../src/debug-adapter/program';
import { explainVmmEvent, matchVmmEvent, parseVmmFilter, type VmmEventFilter, type VmmEventFilterId } from '../../../src/debug-adapter/vmmEvents';
import { fromBase64, parseVectorList, toBase64 } from '../../../src/debug-adapter/session';
import { LayerStack } from '../../../src/emulator/vmm/layerStack';
import type { Transition } from '../../../src/emulator/vmm/transitions';

const memory = new Map<number, number>([[0x1000, 0x78], [0x1001, 0x56], [0x1002, 0x34], [0x1003, 0x12], [0x2000, 0x00], [0x2001, 0x10], [0x2002, 0], [0x2003, 0]]);
const scope: ExpressionScope = {
  register: (n) => ({ eax: 5, esp: 0x1ff8, ecx: 0xffffffff, zf: 1, al: 5 } as Record<string, number>)[n],
  symbol: (n) => (n === 'msg' ? 0x1000 : n === 'table' ? 0x2000 : undefined),
  readMemory: (a, size) => {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = memory.get(a + i);
      if (b === undefined) return undefined;
      v |= b << (8 * i);
    }
    return v >>> 0;
  },
  here: () => 0x100020,
};

describe('debugger expressions (NASM syntax over the assembler parser)', () => {
  const ev = (t: string): number => evaluateExpression(t, scope);
  it('evaluates registers, flags, labels, numbers in NASM forms and operators', () => {
    assert.equal(ev('eax+4'), 9);
    assert.equal(ev('eax == 5'), 1);
    assert.equal(ev('eax == 5 && zf'), 1);
    assert.equal(ev('ecx'), 0xffffffff);
    assert.equal(ev('ecx + 1'), 0);
    assert.equal(ev('0ffh + 10b + 0x10 + $'), 0xff + 2 + 16 + 0x100020);
    assert.equal(ev('msg + 2'), 0x1002);
    assert.equal(ev('-1 // 2'), 0, 'signed division');
    assert.equal(ev('eax > 3 ? 100 : 200'), 100);
  });
  it('reads memory operands with size keywords, nested', () => {
    assert.equal(ev('[msg]'), 0x12345678);
    assert.equal(ev('byte [msg + 1]'), 0x56);
    assert.equal(ev('word [msg]'), 0x5678);
    assert.equal(ev('dword [[table]]'), 0x12345678, '[table] holds 0x1000');
    assert.equal(ev('byte [msg] == 0x78'), 1);
  });
  it('reports unknown names, unmapped memory and syntax errors as ExpressionError', () => {
    assert.throws(() => ev('nope'), ExpressionError);
    assert.throws(() => ev('[0x9000]'), /not mapped/);
    assert.throws(() => ev('eax +'), ExpressionError);
    assert.throws(() => ev('[eax'), /missing/);
    assert.throws(() => ev('1 / 0'), /division by zero/);
    assert.throws(() => ev(''), /empty/);
  });
});

describe('launch arguments', () => {
  it('accepts a native launch with defaults and notes ignored attributes', () => {
    const v = validateLaunchArgs({ program: 'k.asm', technique: 'native', architecture: 'hosted', whatever: 1 });
    assert.ok('config' in v);
    assert.equal(v.config.memoryMB, 32);
    assert.equal(v.config.stopOnEntry, false);
    assert.ok(v.notes.some((n) => n.includes('whatever')));
    assert.ok(v.notes.some((n) => n.includes('no effect')));
  });
  it('accepts exactly the techniques the VMM implements and refuses the others with a way forward', () => {
    for (const technique of TECHNIQUES) {
      const v = validateLaunchArgs({ program: 'k.asm', technique });
      if (IMPLEMENTED_TECHNIQUES.includes(technique)) assert.ok('config' in v, technique);
      else assert.ok('problems' in v && new RegExp(`${technique}' is not implemented.*native`).test(v.problems[0]!), technique);
    }
    const unknown = validateLaunchArgs({ program: 'k.asm', technique: 'quantum' });
    assert.ok('problems' in unknown);
  });
  it('accepts every technique the VMM has an engine for, and passes VT-x controls through the engine\'s parser', () => {
    for (const technique of ['native', 'trap-and-emulate', 'paravirtual', 'hardware-assisted']) {
      assert.ok('config' in validateLaunchArgs({ program: 'k.asm', technique }), technique);
    }
    const v = validateLaunchArgs({ program: 'k.asm', technique: 'hardware-assisted', vmxControls: { hltExiting: false, io: 'bitmap', exitingPorts: [0x3f8] }, exceptionBitmap: 0x2000 });
    assert.ok('config' in v);
    assert.deepEqual(v.config.vmxControls, { hltExiting: false, io: 'bitmap', exitingPorts: [0x3f8], exceptionBitmap: 0x2000 });
    const bad = validateLaunchArgs({ program: 'k.asm', technique: 'hardware-assisted', vmxControls: { io: 'sometimes' } });
    assert.ok('problems' in bad);
    assert.match(bad.problems.join(), /vmxControls.io must be 'all', 'bitmap' or 'none'/);
  });
  it('names every schema violation', () => {
    const v = validateLaunchArgs({
      program: 3, technique: 'magic', memoryMB: 1024, vcpus: 0, includePaths: 'x', defines: { A: {} }, vmxControls: { bogus: true },
      costOverrides: { vmExit: -1 }, stopOnEntry: 'yes', exceptionBitmap: -1,
    });
    assert.ok('problems' in v);
    const text = v.problems.join('\n');
    for (const key of ["'program'", "'technique'", "'memoryMB'", "'vcpus'", "'includePaths'", "'defines.A'", "vmxControls has no option 'bogus'", "'costOverrides.vmExit'", "'stopOnEntry'", "'exceptionBitmap'"]) {
      assert.ok(text.includes(key), `missing a problem for ${key}:\n${text}`);
    }
    assert.ok('problems' in validateLaunchArgs(null));
    assert.match((validateLaunchArgs({ program: 'k.asm', technique: 'native', costOverrides: { noSuchCost: 5 } }) as { problems: string[] }).problems.join(), /cost model/);
    assert.match((validateLaunchArgs({ program: 'k.asm', technique: 'trap-and-emulate', vcpus: 2 }) as { problems: string[] }).problems[0]!, /one vCPU/);
  });
});

describe('breakpoint conditions', () => {
  it('hit conditions', () => {
    assert.equal(hitConditionMet('3', 2), false);
    assert.equal(hitConditionMet('3', 3), true);
    assert.equal(hitConditionMet('3', 4), true);
    assert.equal(hitConditionMet('==3', 4), false);
    assert.equal(hitConditionMet('%2', 4), true);
    assert.equal(hitConditionMet('%2', 3), false);
    assert.equal(hitConditionMet('<2', 1), true);
    assert.equal(typeof hitConditionMet('often', 1), 'string');
  });
  it('logpoint interpolation', () => {
    assert.equal(interpolate('eax={eax} {{literal}}', (e) => evaluateExpression(e, scope)), 'eax=0x5 {literal}');
    assert.match(interpolate('{nope}', (e) => evaluateExpression(e, scope)), /^<.*neither/);
  });
  it('exception vectors by number or mnemonic', () => {
    assert.deepEqual([...parseVectorList('13, #PF 0x6')].sort((a, b) => a - b), [6, 13, 14]);
    assert.equal(parseVectorList('').size, 0);
    assert.throws(() => parseVectorList('#XX'));
    assert.throws(() => parseVectorList('40'));
  });
  it('base64 round trip without Buffer', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'hello world']) {
      const bytes = new TextEncoder().encode(text);
      assert.equal(toBase64(bytes), Buffer.from(text).toString('base64'));
      assert.deepEqual([...fromBase64(toBase64(bytes))], [...bytes]);
    }
  });
});

describe('layered call stack from the VMM layer stack', () => {
  let seq = 0;
  const transition = (t: Omit<Transition, 'seq' | 'cycle' | 'cost' | 'details'>): Transition => ({ seq: seq++, cycle: 0, cost: 0, details: {}, ...t });
  const code = (layer: StackEntry['layer'], name: string): StackEntry => ({ kind: 'code', layer, name, address: 0 });

  it('puts a label separator at each layer boundary saying what crossed it', () => {
    const stack = new LayerStack('guest-kernel');
    assert.deepEqual(stack.apply(transition({ from: 'guest-kernel', to: 'vmm', kind: 'trap', reason: '#GP: cli at CPL1' })), { ok: true });
    const rows = composeLayeredStack(stack.topFirst().map((layerFrame) => ({
      layerFrame,
      frames: layerFrame.layer === 'vmm' ? [code('vmm', 'emulate_cli')] : [code('guest-kernel', 'puts'), code('guest-kernel', 'start')],
    })));
    assert.deepEqual(rows.map((r) => (r.kind === 'separator' ? `--${r.label}--` : r.name)), ['emulate_cli', '--trap #GP: cli at CPL1 → VMM--', 'puts', 'start']);
  });

  it('labels hypercalls and VM exits with their reasons, and native stacks have no separator', () => {
    const stack = new LayerStack('guest-kernel');
    stack.apply(transition({ from: 'guest-kernel', to: 'vmm', kind: 'hypercall', reason: 'hypercall 18 console_io' }));
    assert.equal(separatorLabel(stack.topFirst()[0]!), 'hypercall 18 console_io → VMM');
    const native = new LayerStack('guest-kernel');
    const rows = composeLayeredStack(native.topFirst().map((layerFrame) => ({ layerFrame, frames: [code('guest-kernel', 'start')] })));
    assert.equal(rows.filter((r) => r.kind === 'separator').length, 0);
  });
});

describe('program source map lookups', () => {
  const program = new Program(new Uint8Array(0), '/a/b/m.asm', [
    { address: 0x100000, size: 2, file: '/a/b/../inc/x.inc', line: 3, column: 5 },
    { address: 0x100002, size: 1, file: '/a/b/../inc/x.inc', line: 7, column: 5 },
    { address: 0x100010, size: 1, file: 'C:\\w\\k.asm', line: 1, column: 1 },
  ], [{ name: 'fn', address: 0x100000 }, { name: 'fn.loop', address: 0x100002 }]);

  it('binds breakpoint lines to the next instruction line, matching paths as clients spell them', () => {
    assert.deepEqual(program.resolveLine('/a/inc/x.inc', 1), { line: 3, addresses: [0x100000] });
    assert.deepEqual(program.resolveLine('/a/./inc/x.inc', 4), { line: 7, addresses: [0x100002] });
    assert.equal(program.resolveLine('/a/inc/x.inc', 8), undefined);
    assert.deepEqual(program.resolveLine('c:/w/k.asm', 1), { line: 1, addresses: [0x100010] });
    assert.deepEqual(program.instructionLines('/a/inc/x.inc', 1, 10), [3, 7]);
  });

  it('symbolises addresses by the nearest label', () => {
    assert.equal(program.symbolize(0x100000), 'fn');
    assert.equal(program.symbolize(0x100003), 'fn.loop+0x1');
    assert.equal(program.symbolize(0x100003, true), undefined);
    assert.equal(program.labelBelow(0xfffff), undefined);
  });
});

describe('virtualization-event filter conditions', () => {
  const t: Transition = {
    seq: 1, cycle: 0, from: 'guest-kernel', to: 'vmm', kind: 'trap', reason: '#GP: out dx, al at CPL1', cost: 0,
    details: { exitReason: 30, exitName: 'I/O instruction', vector: 13 }, instruction: { address: 0x100000, bytes: [0xee], text: 'out dx, al' },
  };
  const filter = (id: VmmEventFilterId, condition?: string): VmmEventFilter => {
    const parsed = parseVmmFilter(id, condition);
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
  };
  it('matches VM exits by exit-reason numbers and words of the reason', () => {
    assert.equal(matchVmmEvent(filter('vmm-trap'), t), true);
    assert.equal(matchVmmEvent(filter('vmm-trap', '30'), t), true);
    assert.equal(matchVmmEvent(filter('vmm-trap', '13'), t), false);
    assert.equal(matchVmmEvent(filter('vmm-trap', 'cli, I/O'), t), true);
    assert.equal(matchVmmEvent(filter('vmm-trap', 'hlt'), t), false);
    const vmx: Transition = { ...t, kind: 'vm-exit', reason: 'VM exit 12 (HLT)', details: { exitReason: 12 } };
    assert.equal(matchVmmEvent(filter('vmm-trap', '12'), vmx), true);
    assert.equal(matchVmmEvent(filter('vmm-trap', '30'), vmx), false);
  });
  it('matches traps by vector (numbers or mnemonics) and rejects words that are not vectors', () => {
    assert.equal(matchVmmEvent(filter('trap-vector', '#GP'), t), true);
    assert.equal(matchVmmEvent(filter('trap-vector', '0x80, 14'), t), false);
    assert.equal(typeof parseVmmFilter('trap-vector', 'cli'), 'string');
  });
  it('matches hypercalls by number or name, EPT violations, hops by layer and injections by vector', () => {
    const hc: Transition = { ...t, kind: 'hypercall', reason: 'hypercall 18 console_io', details: { hypercall: 18, ebx: 0, ecx: 5, edx: 0x1000 } };
    assert.equal(matchVmmEvent(filter('hypercall', '18'), hc), true);
    assert.equal(matchVmmEvent(filter('hypercall', 'console_io'), hc), true);
    assert.equal(matchVmmEvent(filter('hypercall', '29'), hc), false);
    assert.equal(matchVmmEvent(filter('hypercall'), t), false, 'a trap is not a hypercall');
    const ept: Transition = { ...t, kind: 'vm-exit', reason: 'VM exit 48 (EPT violation)', details: { exitReason: 48 } };
    assert.equal(matchVmmEvent(filter('memory-virtualization', 'ept'), ept), true);
    assert.equal(matchVmmEvent(filter('memory-virtualization'), { ...ept, reason: 'VM exit 30 (I/O instruction)', details: { exitReason: 30 } }), false);
    const hop: Transition = { ...t, from: 'vmm', to: 'management-os', kind: 'io-hop', reason: 'I/O hop VMM→management OS: out', details: {} };
    assert.equal(matchVmmEvent(filter('io-hop', 'management-os'), hop), true);
    assert.equal(matchVmmEvent(filter('io-hop', 'device'), hop), false);
    assert.equal(typeof parseVmmFilter('io-hop', 'kitchen'), 'string');
    const inject: Transition = { ...t, from: 'vmm', to: 'guest-kernel', kind: 'interrupt-injection', reason: 'inject vector 0x20', details: { vector: 0x20 } };
    assert.equal(matchVmmEvent(filter('interrupt-injection', '0x20'), inject), true);
    assert.equal(matchVmmEvent(filter('interrupt-injection', '0x21'), inject), false);
  });
  it('explains each event in one sentence that names the cause and what to do', () => {
    const e = explainVmmEvent({ ...t, reason: '#GP: cli at CPL1', details: { exitReason: 0, vector: 13 } }, 'start+0x5 (0x100005)', { name: '#GP handler', next: 'save guest state' });
    assert.match(e.sentence, /executed cli at start\+0x5 \(0x100005\), which is privileged at its real CPL/);
    assert.match(e.sentence, /step in to walk its steps/);
    const hc = explainVmmEvent({ ...t, kind: 'hypercall', reason: 'hypercall 18 console_io', details: { hypercall: 18, ebx: 0, ecx: 5, edx: 0x1000 } }, undefined, undefined);
    assert.match(hc.name, /^hypercall 18 console_io$/);
  });
});
