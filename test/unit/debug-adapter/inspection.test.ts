// SPDX-License-Identifier: MIT
// DAP tests of data breakpoints on guest memory (write / read / readWrite, with conditions, natively and
// under trap-and-emulate), completions (registers, labels, console commands) and the `info tss|tab|vmcs|
// tc|stats` console commands.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';
import { KERNEL, launchStopped, lineOf, startHarness, TAE, topFrame } from './harness';

async function repl(c: DebugClient, expression: string): Promise<string> {
  return (await c.evaluateRequest({ expression, context: 'repl' })).body.result;
}

async function continueToStop(c: DebugClient): Promise<DebugProtocol.StoppedEvent> {
  const stop = c.waitForEvent('stopped');
  await c.continueRequest({ threadId: 1 });
  return (await stop) as DebugProtocol.StoppedEvent;
}

describe('debug adapter: data breakpoints', function () {
  this.timeout(30_000);
  for (const technique of ['native', 'trap-and-emulate']) {
    it(`stops after the instruction that writes a watched dword (${technique}), and honours the access type`, async () => {
      const h = await startHarness();
      try {
        const c = h.client;
        await launchStopped(c, { program: KERNEL, technique });
        const info = (await c.dataBreakpointInfoRequest({ name: 'dword [result]' })).body;
        assert.match(info.dataId ?? '', /^0x[0-9a-f]+\/4$/);
        assert.match(info.description, /^4 bytes at result \(0x[0-9a-f]+\)$/);
        assert.deepEqual(info.accessTypes, ['read', 'write', 'readWrite']);
        // A read watch does not stop on the write.
        const readOnly = await c.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'read' }] });
        assert.equal(readOnly.body.breakpoints[0]!.verified, true);
        const stop = await continueToStop(c);
        assert.equal(stop.body.reason, 'breakpoint', 'the read watch let the write pass; the magic breakpoint stops next');
        assert.match(stop.body.description ?? '', /Magic breakpoint/);
      } finally {
        await h.close();
      }
      const h2 = await startHarness();
      try {
        const c = h2.client;
        await launchStopped(c, { program: KERNEL, technique });
        const info = (await c.dataBreakpointInfoRequest({ name: 'dword [result]' })).body;
        const set = await c.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'write' }] });
        const stop = await continueToStop(c);
        assert.equal(stop.body.reason, 'data breakpoint');
        assert.deepEqual(stop.body.hitBreakpointIds, [set.body.breakpoints[0]!.id]);
        assert.match(stop.body.description ?? '', /wrote result \(0x[0-9a-f]+\) \(dword there is now 0xa\)/);
        assert.equal((await topFrame(c)).line, lineOf(KERNEL, 'BP-AFTER-OUTER') + 1, 'a data breakpoint is a trap: the writing instruction has completed');
        assert.match((await c.evaluateRequest({ expression: 'dword [result]' })).body.result, /^0x0000000a /);
      } finally {
        await h2.close();
      }
    });
  }

  it('refuses registers and bad ids, and applies conditions', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: KERNEL });
      const reg = (await c.dataBreakpointInfoRequest({ name: 'eax', variablesReference: 1000 })).body;
      assert.equal(reg.dataId, null);
      assert.match(reg.description, /register.*dword \[eax\]/);
      const bad = await c.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'nonsense' }] });
      assert.equal(bad.body.breakpoints[0]!.verified, false);
      const info = (await c.dataBreakpointInfoRequest({ name: 'result' })).body;
      await c.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'readWrite', condition: 'eax == 99' }] });
      const stop = await continueToStop(c);
      assert.match(stop.body.description ?? '', /Magic breakpoint/, 'the condition was false at the write');
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: completions and inspection commands', function () {
  this.timeout(30_000);
  it('completes registers, flags, labels and console commands at the cursor', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: KERNEL });
      const labels = (await c.completionsRequest({ text: 'msg_', column: 5 })).body.targets;
      assert.deepEqual(labels.map((t) => t.label).sort(), ['msg_bye', 'msg_hello']);
      assert.equal(labels[0]!.start, 1);
      assert.equal(labels[0]!.length, 4);
      const regs = (await c.completionsRequest({ text: 'dword [es', column: 10 })).body.targets.map((t) => t.label);
      assert.ok(regs.includes('esp') && regs.includes('esi'), regs.join(' '));
      assert.ok(!regs.includes('eax'));
      const info = (await c.completionsRequest({ text: 'info t', column: 7 })).body.targets.map((t) => t.label);
      assert.deepEqual(info.sort(), ['tab', 'tc', 'tss']);
      const commands = (await c.completionsRequest({ text: 'in', column: 3 })).body.targets.map((t) => t.label);
      assert.ok(commands.includes('info gdt') && commands.includes('info stats'), commands.join(' '));
    } finally {
      await h.close();
    }
  });

  it('shows the TSS, page tables, VMM counters, and says which technique has a VMCS or a translation cache', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: TAE, technique: 'trap-and-emulate' });
      const tss = await repl(c, 'info tss');
      assert.match(tss, /^TSS at 0x[0-9a-f]+, limit 0x0067, TR 0x[0-9a-f]{4}/);
      assert.match(tss, /ring 0 stack {2}ss0:esp0 = /);
      assert.match(tss, /real TSS the VMM owns/);
      assert.match(await repl(c, 'info tab'), /^paging is off \(CR0\.PG = 0\)/);
      assert.match(await repl(c, 'info vmcs'), /^no VMCS: the trap-and-emulate technique does not use VT-x/);
      assert.match(await repl(c, 'info tc'), /^no translation cache: the trap-and-emulate technique/);
      let stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      const stats = await repl(c, 'info stats');
      assert.match(stats, /technique trap-and-emulate; transitions recorded: [1-9]/);
      assert.match(stats, /VMM entries by SDM exit reason:\n +\d+ [^:]+: 1/);
    } finally {
      await h.close();
    }
  });

  it('walks the page tables of a paging guest (info tab) once it turned paging on', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stopped = c.waitForEvent('stopped');
      const init = c.waitForEvent('initialized').then(async () => {
        await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'memory-virtualization' }] });
        await c.configurationDoneRequest();
      });
      await c.launch({ technique: 'trap-and-emulate', program: join(__dirname, '..', '..', '..', 'samples', 'vmm', 'forkbench.asm') });
      await init;
      await stopped;
      const tab = await repl(c, 'info tab');
      assert.match(tab, /^page directory at 0x[0-9a-f]{8} \(CR3\); mappings linear → physical/);
      assert.match(tab, /\n {2}0x[0-9a-f]{8}-0x[0-9a-f]{8} → 0x[0-9a-f]{8}-0x[0-9a-f]{8} R[OW]/);
    } finally {
      await h.close();
    }
  });

  it('shows the current VMCS under hardware assist', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: TAE, technique: 'hardware-assisted' });
      const vmcs = await repl(c, 'info vmcs');
      assert.doesNotMatch(vmcs, /^no VMCS/);
      assert.match(vmcs, /Guest-state area:/);
    } finally {
      await h.close();
    }
  });
});
