// SPDX-License-Identifier: MIT
// Reverse debugging over DAP under the paravirtual engine (vmmReverse.ts with the event-channel state of
// paravirtual/eventState.ts): stepping back one instruction at a time across xen_version and console_io
// hypercalls and a VIRQ_TIMER event upcall restores exactly the registers each step had and traces nothing
// again; stepping back from inside the upcall returns to the loop instruction before the delivery;
// reverseContinue goes back over hypercalls and upcalls to the previous passes of a breakpoint; forward again
// retraces the same states and the guest output is printed once. (Forward steps use step in; step over the iret
// hypercall is tested in test/unit/debug-adapter/pvStepOver.test.ts.)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { launchStopped, lineOf, startHarness, topFrame, type Harness } from '../debug-adapter/harness';
import { REVERSE_FIXTURES } from './guests';

const PV = join(REVERSE_FIXTURES, 'pv.asm');
const REGISTERS = ['eip', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eflags'] as const;

async function value(h: Harness, expression: string): Promise<number> {
  const r = await h.client.evaluateRequest({ expression, context: 'watch', frameId: 0 });
  return Number(/^0x[0-9a-f]+/i.exec(r.body.result)![0]);
}

async function registers(h: Harness): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of REGISTERS) out[r] = await value(h, r);
  out['ticks'] = await value(h, 'dword [ticks]');
  return out;
}

async function stopAfter(h: Harness, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await request();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

describe('reverse debugging under paravirtual (DAP)', function () {
  this.timeout(120_000);
  let h: Harness;
  let trace: string[];
  let serial: string;
  beforeEach(async () => {
    h = await startHarness();
    trace = [];
    serial = '';
    h.client.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'console') trace.push(e.body.output);
      if (e.body.category === 'stdout') serial += e.body.output;
    });
  });
  afterEach(async () => h.close());

  it('steps back instruction by instruction across hypercalls and a timer upcall, to exactly the registers each step had', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PV, technique: 'paravirtual', trace: true });
    const upcall = lineOf(PV, 'BP-UPCALL');
    // Stop in the first upcall, then at the top of the next loop pass: the next upcall is a few passes ahead.
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: upcall }] });
    await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
    assert.equal((await topFrame(h.client)).line, upcall);
    const loop = lineOf(PV, 'BP-LOOP');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: loop }] });
    await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [] });
    const states = [await registers(h)];
    const lines = [(await topFrame(h.client)).line];
    const traced = trace.length;
    // Forward until the next upcall has run and the loop has made a console_io hypercall after it.
    const afterConsole = lineOf(PV, 'BP-AFTER-CONSOLE');
    let steps = 0;
    for (let seenUpcall = false; !(seenUpcall && lines[lines.length - 1] === afterConsole);) {
      await stopAfter(h, () => h.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
      assert.ok(++steps < 500, `runaway stepping: ${lines.join(',')}`);
      // Step in on console_io stops in the I/O hop's VMM frames too; a step back undoes the hypercall whole.
      const top = await topFrame(h.client);
      if (top.source?.path !== PV) continue;
      states.push(await registers(h));
      lines.push(top.line);
      if (top.line === upcall) seenUpcall = true;
    }
    const forward = trace.slice(traced).join('');
    for (const crossing of [/hypercall 17 xen_version/, /hypercall 18 console_io/, /event upcall \(port 1, VIRQ_TIMER\)/, /hypercall 23 iret/]) {
      assert.match(forward, crossing, 'the stepped stretch crosses this VMM transition');
    }
    assert.ok(states[states.length - 1]!['ticks']! > states[0]!['ticks']!, 'a tick was counted on the way');
    const afterForward = trace.length;
    for (let i = states.length - 2; i >= 0; i--) {
      const stop = await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
      assert.equal(stop.body.reason, 'step');
      assert.match(stop.body.description ?? '', /^Paused \(reverse\): /);
      assert.equal((await topFrame(h.client)).line, lines[i], `line after stepping back to state ${i} (lines forward: ${lines.join(',')})`);
      assert.deepEqual(await registers(h), states[i], `registers after stepping back to state ${i}`);
    }
    assert.equal(trace.length, afterForward, `stepping back traced nothing: ${trace.slice(afterForward).join('')}`);
    const printed = serial;
    for (let i = 1; i < states.length; i++) {
      do await stopAfter(h, () => h.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
      while ((await topFrame(h.client)).source?.path !== PV);
      assert.deepEqual(await registers(h), states[i], `forward again, state ${i}`);
    }
    assert.equal(serial, printed, 'forward again over recorded ground prints nothing twice');
  });

  it('steps back from the first instruction of the upcall to the loop instruction before the delivery', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PV, technique: 'paravirtual' });
    const upcall = lineOf(PV, 'BP-UPCALL');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: upcall }] });
    await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
    await stopAfter(h, () => h.client.continueRequest({ threadId: 1 })); // the second upcall: inside the loop
    const ticks = await value(h, 'dword [ticks]');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [] });
    const back = await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
    assert.equal(back.body.reason, 'step');
    const line = (await topFrame(h.client)).line;
    assert.ok(line >= lineOf(PV, 'BP-LOOP') && line <= lineOf(PV, 'BP-AFTER-CONSOLE') + 2, `back in the loop, at line ${line}`);
    assert.equal(await value(h, 'dword [ticks]'), ticks);
    // Forward again: the same upcall is delivered at the same place.
    await stopAfter(h, () => h.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
    assert.equal((await topFrame(h.client)).line, upcall);
  });

  it('reverse-continues back over hypercalls and upcalls to the previous passes of a breakpoint', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PV, technique: 'paravirtual' });
    const after = lineOf(PV, 'BP-AFTER-HCALL');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: after }] });
    const passes = 12; // several timer upcalls happen among them
    for (let pass = 0; pass < passes; pass++) {
      await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
      assert.equal(await value(h, 'ebp'), pass);
    }
    const ticksThere = await value(h, 'dword [ticks]');
    assert.ok(ticksThere >= 1, `timer upcalls happened in these passes (${ticksThere})`);
    for (let pass = passes - 2; pass >= 0; pass--) {
      const stop = await stopAfter(h, () => h.client.reverseContinueRequest({ threadId: 1 }));
      assert.equal(stop.body.reason, 'breakpoint');
      assert.match(stop.body.description ?? '', /^Paused \(reverse\): /);
      assert.equal((await topFrame(h.client)).line, after);
      assert.equal(await value(h, 'ebp'), pass);
      assert.equal(await value(h, 'esi'), (pass * (pass - 1)) >> 1, 'the sum of the earlier passes');
    }
    await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
    assert.equal(await value(h, 'ebp'), 1, 'forward again: the next pass');
    const exited = h.client.waitForEvent('exited');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [] });
    await h.client.continueRequest({ threadId: 1 });
    assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 1);
    assert.equal(serial, '01234567'.repeat(5), 'each digit printed once, replays included');
  });

  it('after an EIP edit, stepping back follows the edited run, not the grid learnt before the edit', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PV, technique: 'paravirtual' });
    const afterHcall = lineOf(PV, 'BP-AFTER-HCALL');
    const consoleLine = lineOf(PV, 'BP-CONSOLE');
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [{ line: afterHcall }] });
    for (let pass = 0; pass < 3; pass++) await stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));
    await h.client.setBreakpointsRequest({ source: { path: PV }, breakpoints: [] });
    const stepIn = () => stopAfter(h, () => h.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
    // Learn the grid well past the console_io hypercall: forward into the next pass, then back to the start.
    let consoleStart = 0;
    for (let forward = 0; forward < 60 && (await topFrame(h.client)).line !== lineOf(PV, 'BP-LOOP'); forward++) {
      await stepIn();
      while ((await topFrame(h.client)).source?.path !== PV) await stepIn();
      if (consoleStart === 0 && (await topFrame(h.client)).line === consoleLine) consoleStart = await value(h, 'eip');
    }
    assert.ok(consoleStart !== 0, 'passed the console_io line');
    while ((await topFrame(h.client)).line !== afterHcall) await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
    // Skip the sum and the digit: EIP straight to the console_io line (its hypercall now comes 5 instructions earlier).
    const frame = await topFrame(h.client);
    const scopes = (await h.client.scopesRequest({ frameId: frame.id })).body.scopes;
    let edited = false;
    for (const scope of scopes) {
      const vars = (await h.client.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
      if (!vars.some((v) => v.name === 'eip')) continue;
      await h.client.setVariableRequest({ variablesReference: scope.variablesReference, name: 'eip', value: `0x${consoleStart.toString(16)}` });
      edited = true;
      break;
    }
    assert.ok(edited, `a scope with eip: ${scopes.map((sc) => sc.name).join(', ')}`);
    assert.equal((await topFrame(h.client)).line, consoleLine);
    while ((await topFrame(h.client)).line !== lineOf(PV, 'BP-LOOP')) await stepIn();
    const lines: number[] = [];
    for (let i = 0; i < 4; i++) {
      const stop = await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'line' }));
      assert.equal(stop.body.reason, 'step', stop.body.description);
      lines.push((await topFrame(h.client)).line);
    }
    assert.deepEqual(lines, [lineOf(PV, 'BP-JB'), lineOf(PV, 'BP-CMP'), lineOf(PV, 'BP-AFTER-CONSOLE'), consoleLine], 'the edited run, line by line');
    assert.equal(await value(h, 'eip'), consoleStart, 'at the edit: the state it made');
    await stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
    assert.equal((await topFrame(h.client)).line, lineOf(PV, 'BP-HCALL'), 'before the edit: the xen_version hypercall as recorded');
  });
});
