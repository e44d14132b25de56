// SPDX-License-Identifier: MIT
// DAP tests of the layered call stack inside the VMM (issue 7, "Call stack across layers"): a VMM event
// filter stops at the first named step of the VMM handler; the call stack shows the VMM frame (an
// adapter-served listing with the current step marked), the separator saying what crossed the boundary, and
// the guest frame at the trapping instruction; step in / next walk the handler's steps, step out returns to
// the guest; step in on a trapping guest line enters the VMM. Also the other virtualization-event filters the
// implemented engines can trigger (VT-x exits, hypercalls, I/O hops per architecture, interrupt injection).
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';
import { FIXTURES, IRQ, lineOf, startHarness, TAE, topFrame } from './harness';

const PV = join(FIXTURES, 'pv.asm');
const FORKBENCH = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'forkbench.asm');

/** Launches with exception filters set during configuration; resolves with the first stopped event. */
async function launchWithFilters(c: DebugClient, args: Record<string, unknown>, filterOptions: { filterId: string; condition?: string }[]): Promise<DebugProtocol.StoppedEvent> {
  const stopped = c.waitForEvent('stopped');
  const init = c.waitForEvent('initialized').then(async () => {
    await c.setExceptionBreakpointsRequest({ filters: [], filterOptions });
    await c.configurationDoneRequest();
  });
  await c.launch(args);
  await init;
  return (await stopped) as DebugProtocol.StoppedEvent;
}

async function stack(c: DebugClient): Promise<DebugProtocol.StackFrame[]> {
  return (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

async function listing(c: DebugClient, frame: DebugProtocol.StackFrame): Promise<string> {
  const reference = frame.source?.sourceReference;
  assert.ok(reference !== undefined && reference > 0, `frame "${frame.name}" has no adapter-served source`);
  return (await c.sourceRequest({ sourceReference: reference, source: frame.source! })).body.content;
}

async function step(c: DebugClient, request: 'next' | 'stepIn' | 'stepOut'): Promise<DebugProtocol.StoppedEvent> {
  const stop = c.waitForEvent('stopped');
  if (request === 'next') await c.nextRequest({ threadId: 1 });
  else if (request === 'stepIn') await c.stepInRequest({ threadId: 1 });
  else await c.stepOutRequest({ threadId: 1 });
  return (await stop) as DebugProtocol.StoppedEvent;
}

describe('debug adapter: VMM handler frames', function () {
  this.timeout(30_000);

  it('stops at the first step of the VMM handler on a trap filter, walks the steps, and steps out to the guest', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'trap-and-emulate', program: TAE }, [{ filterId: 'vmm-trap', condition: 'cli' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /executed cli at start\+0x5 \(0x[0-9a-f]+\), which is privileged at its real CPL, so the CPU raised #GP/);
      const info = (await c.exceptionInfoRequest({ threadId: 1 })).body;
      assert.match(info.exceptionId, /^VM exit \d+: /);
      assert.match(info.description ?? '', /Stopped at the start of the VMM's/);

      let frames = await stack(c);
      const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name} | ${f.source?.name ?? ''}:${f.line}`).join('\n');
      const vmm = frames[0]!;
      assert.match(vmm.name, /^VMM: /, dump);
      assert.equal(frames[1]!.presentationHint, 'label', dump);
      assert.match(frames[1]!.name, /#GP: cli at CPL1 → VMM$/, dump);
      assert.ok(frames[1]!.source?.sourceReference, 'the separator has a proper source (no "Unknown Source 0")');
      assert.match(await listing(c, frames[1]!), /kind: +trap[\s\S]*instruction: cli at 0x/);
      assert.equal(frames[2]!.source?.path, TAE, dump);
      assert.equal(frames[2]!.line, lineOf(TAE, 'BP-CLI'), 'the guest frame is at the trapping cli');

      const text = await listing(c, vmm);
      const lines = text.split('\n');
      assert.match(lines[vmm.line - 1]!, /^▶ +1\. /, `the frame's line is the marked first step:\n${text}`);
      const stepCount = lines.filter((l) => /^[▶ ] +\d+\. /.test(l)).length;
      assert.ok(stepCount >= 3, text);

      // The VMM frame's scopes: the handler, and the real CPU next to the virtual one.
      const scopes = (await c.scopesRequest({ frameId: vmm.id })).body.scopes;
      assert.deepEqual(scopes.slice(0, 2).map((s) => s.name), ['VMM handler', 'Real CPU vs virtual CPU']);
      const diff = (await c.variablesRequest({ variablesReference: scopes[1]!.variablesReference })).body.variables;
      assert.equal(diff.find((v) => v.name === 'cpl')!.value, 'virtual 0 ≠ real 1');
      assert.match(diff.find((v) => v.name === 'gdtr')!.value, /^virtual base=0x[0-9a-f]+ .* ≠ real base=/);

      // Next walks one named step: the line moves to the second step, the listing marks it.
      const walked = await step(c, 'next');
      assert.equal(walked.body.reason, 'step');
      assert.match(walked.body.description ?? '', /^VMM step ".+" done; next: /);
      frames = await stack(c);
      assert.match(frames[0]!.name, /^VMM: /);
      assert.equal(frames[0]!.line, vmm.line + 1);
      assert.match((await listing(c, frames[0]!)).split('\n')[frames[0]!.line - 1]!, /^▶ +2\. /);
      // A variables reference from the earlier stop still answers (no "stale after resume").
      assert.ok((await c.variablesRequest({ variablesReference: scopes[1]!.variablesReference })).body.variables.length > 0);

      // Step out finishes the handler: back in the guest, after the emulated cli, with the virtual IF 0.
      const out = await step(c, 'stepOut');
      assert.match(out.body.description ?? '', /finished; the guest continues at /);
      frames = await stack(c);
      assert.equal(frames[0]!.source?.path, TAE);
      assert.equal(frames[0]!.line, lineOf(TAE, 'BP-AFTER-CLI'));
      assert.ok(!frames.some((f) => /^VMM: /.test(f.name)), 'no VMM frame once the handler returned');
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 9, 'the OUT trap does not match "cli"');
    } finally {
      await h.close();
    }
  });

  it('step in on a trapping guest line enters the VMM frame; next there walks every step back to the guest', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const entry = c.waitForEvent('stopped');
      await Promise.all([c.configurationSequence(), c.launch({ technique: 'trap-and-emulate', program: TAE, stopOnEntry: true })]);
      await entry;
      await step(c, 'next');
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-CLI'));
      const into = await step(c, 'stepIn');
      assert.match(into.body.description ?? '', /^Step in: cli at start\+0x5 .* entered the VMM/);
      const frames = await stack(c);
      assert.match(frames[0]!.name, /^VMM: /);
      const steps = (await listing(c, frames[0]!)).split('\n').filter((l) => /^[▶ ] +\d+\. /.test(l)).length;
      let guestAgain = false;
      for (let k = 0; k < steps + 2 && !guestAgain; k++) {
        await step(c, 'next');
        guestAgain = (await topFrame(c)).source?.path === TAE;
      }
      assert.ok(guestAgain, 'walking the handler step by step returns to the guest');
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-AFTER-CLI'));
    } finally {
      await h.close();
    }
  });

  it('stops on a VT-x VM exit by reason inside the exit handler (exit 30, I/O instruction)', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'hardware-assisted', program: TAE, vmxControls: { io: 'all' } }, [{ filterId: 'vmm-trap', condition: '30' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /SDM exit reason 30 \(I\/O instruction\)/);
      const frames = await stack(c);
      const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name} | ${f.source?.name ?? ''}:${f.line}`).join('\n');
      assert.match(frames[0]!.name, /^VMM: /, dump);
      const label = frames.find((f) => f.presentationHint === 'label');
      assert.match(label?.name ?? '', /VM exit 30 \(I\/O instruction\) → VMM/, dump);
      const guest = frames.find((f) => f.source?.path === TAE);
      assert.equal(guest?.line, lineOf(TAE, 'BP-OUT'), dump);
      const out = await step(c, 'stepOut');
      assert.equal(out.body.reason, 'step');
    } finally {
      await h.close();
    }
  });

  it('stops on a hypercall by number with its arguments named, and the guest output follows', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const output: string[] = [];
      c.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
      const stop = await launchWithFilters(c, { technique: 'paravirtual', program: PV }, [{ filterId: 'hypercall', condition: 'console_io' }]);
      assert.equal(stop.body.reason, 'exception');
      const info = (await c.exceptionInfoRequest({ threadId: 1 })).body;
      assert.equal(info.exceptionId, 'hypercall 18 console_io');
      assert.match(info.description ?? '', /asked the VMM for console_io\(cmd=0x0, count=0x1a, buffer=0x[0-9a-f]+\)/);
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 11, 'sched_op shutdown with status 5 does not match console_io');
      assert.ok(output.join('').includes('pv: hello through the VMM'), output.join(''));
    } finally {
      await h.close();
    }
  });

  it('stops on the I/O hop into the management OS (microkernel) with that layer as a frame above the VMM', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'trap-and-emulate', architecture: 'microkernel', program: TAE }, [{ filterId: 'io-hop', condition: 'management-os' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.text ?? '', /^I\/O hop → management OS$/);
      const frames = await stack(c);
      const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name} | ${f.source?.name ?? ''}:${f.line}`).join('\n');
      assert.match(frames[0]!.name, /^management OS: I\/O hop VMM→management OS/, dump);
      const text = await listing(c, frames[0]!);
      assert.match(text.split('\n')[frames[0]!.line - 1]!, /^▶ #\d+ io-hop VMM → management OS/, text);
      assert.ok(frames.some((f) => f.presentationHint === 'label' && /→ management OS$/.test(f.name)), dump);
    } finally {
      await h.close();
    }
  });

  it('stops when the VMM injects the timer interrupt, then in the guest handler above the separator', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'trap-and-emulate', program: IRQ }, [{ filterId: 'interrupt-injection' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.text ?? '', /^interrupt injection 0x8$/);
      const frames = await stack(c);
      const dump = frames.map((f) => `${f.presentationHint ?? '-'} | ${f.name} | ${f.source?.name ?? ''}:${f.line}`).join('\n');
      assert.equal(frames[0]!.name, 'irq0', dump);
      assert.ok(frames.some((f) => f.presentationHint === 'label' && /inject/.test(f.name)), dump);
    } finally {
      await h.close();
    }
  });

  it('stops when binary translation translates a guest unit into the translation cache', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'binary-translation', program: TAE }, [{ filterId: 'bt-translation' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.text ?? '', /^BT: /);
      assert.match(stop.body.description ?? '', /translated guest code.*"info tc" lists the translation/);
      assert.match((await c.evaluateRequest({ expression: 'info tc', context: 'repl' })).body.result, /^translation cache: /);
    } finally {
      await h.close();
    }
  });

  it('stops on a shadow-paging event of a paging guest under trap-and-emulate', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'trap-and-emulate', program: FORKBENCH }, [{ filterId: 'memory-virtualization' }]);
      assert.equal(stop.body.reason, 'exception', stop.body.description);
      assert.match(stop.body.text ?? '', /^shadow paging: /);
      assert.match(stop.body.description ?? '', /shadow page tables in sync/);
      assert.match((await c.evaluateRequest({ expression: 'info stats', context: 'repl' })).body.result, /memory virtualization: shadow-paging/);
    } finally {
      await h.close();
    }
  });

  it('stops on an EPT violation (VM exit 48) under hardware assist, inside its exit handler', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'hardware-assisted', program: FORKBENCH }, [{ filterId: 'memory-virtualization', condition: 'ept' }]);
      assert.equal(stop.body.reason, 'exception', stop.body.description);
      assert.equal(stop.body.text, 'EPT violation (VM exit 48)');
      assert.match(stop.body.description ?? '', /not allowed by the EPT/);
      const frames = await stack(c);
      assert.match(frames[0]!.name, /^VMM: /);
      assert.match(frames.find((f) => f.presentationHint === 'label')?.name ?? '', /VM exit 48 \(EPT violation\) → VMM/);
      assert.match((await c.evaluateRequest({ expression: 'info stats', context: 'repl' })).body.result, /memory virtualization: nested-paging[\s\S]*eptViolations: 1\b/);
    } finally {
      await h.close();
    }
  });

  it('stops on a trap by vector: int 0x80 is not #GP, the OUT of finish is', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stop = await launchWithFilters(c, { technique: 'trap-and-emulate', program: TAE }, [{ filterId: 'trap-vector', condition: '#GP' }]);
      assert.equal(stop.body.reason, 'exception');
      assert.equal((await stack(c)).find((f) => f.source?.path === TAE)?.line, lineOf(TAE, 'BP-CLI'), 'the first #GP is the cli');
      const second = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await second;
      assert.equal((await stack(c)).find((f) => f.source?.path === TAE)?.line, lineOf(TAE, 'BP-OUT'), 'the next #GP is the OUT');
    } finally {
      await h.close();
    }
  });

  it('under VT-x, step in on an exiting OUT enters the exit handler and step out returns after the OUT', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const entry = c.waitForEvent('stopped');
      await Promise.all([c.configurationSequence(), c.launch({ technique: 'hardware-assisted', program: TAE, stopOnEntry: true, vmxControls: { io: 'all' } })]);
      await entry;
      await c.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [{ line: lineOf(TAE, 'BP-OUT') }] });
      const atOut = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await atOut;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-OUT'));
      const into = await step(c, 'stepIn');
      assert.match(into.body.description ?? '', /^Step in: out 0xf4, ?al at finish\+0x2 .* entered the VMM — "I\/O instruction \(reason 30\)"/);
      const frames = await stack(c);
      assert.match(frames[0]!.name, /^VMM: /);
      assert.match(await listing(c, frames[0]!), /▶ +1\. /);
      const out = await step(c, 'stepOut');
      assert.match(out.body.description ?? '', /^Step out: "I\/O instruction \(reason 30\)" finished/);
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 9, 'the handler performed the debug-exit OUT');
    } finally {
      await h.close();
    }
  });

  it('refuses unknown filters and conditions that cannot match', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await Promise.all([c.configurationSequence(), c.launch({ technique: 'trap-and-emulate', program: TAE, stopOnEntry: true })]);
      await assert.rejects(c.setExceptionBreakpointsRequest({ filters: ['no-such-filter'] }), /unknown exception filter/);
      await assert.rejects(c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'trap-vector', condition: 'banana' }] }), /is not a vector/);
    } finally {
      await h.close();
    }
  });
});
