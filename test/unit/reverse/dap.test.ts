// SPDX-License-Identifier: MIT
// Reverse debugging over DAP with the DebugClient: supportsStepBack, stepBack (instruction and line) and
// reverseContinue, with stopped events that say "reverse", registers/memory/stack reflecting the state
// travelled to, back across a PIT interrupt and a #UD fault handler, forward again afterwards, and serial
// output never printed twice.
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { expectError, launchStopped, lineOf, startHarness, TAE, topFrame, type Harness } from '../debug-adapter/harness';
import { FAULT_GUEST, PIT_GUEST } from './guests';

const REGISTERS = ['eip', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'esp', 'eflags'] as const;

async function value(h: Harness, expression: string): Promise<number> {
  const r = await h.client.evaluateRequest({ expression, context: 'watch', frameId: 0 });
  return Number(/^0x[0-9a-f]+/i.exec(r.body.result)![0]);
}

async function snapshot(h: Harness, extra: readonly string[] = []): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of [...REGISTERS, ...extra]) out[r] = await value(h, r);
  return out;
}

async function stopAfter(h: Harness, request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await request();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

const stepInstruction = (h: Harness) => stopAfter(h, () => h.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
const stepBack = (h: Harness, granularity: 'instruction' | 'line' = 'instruction') =>
  stopAfter(h, () => h.client.stepBackRequest({ threadId: 1, granularity }));
const reverseContinue = (h: Harness) => stopAfter(h, () => h.client.reverseContinueRequest({ threadId: 1 }));
const forward = (h: Harness) => stopAfter(h, () => h.client.continueRequest({ threadId: 1 }));

function assertReverse(stop: DebugProtocol.StoppedEvent, reason: string): void {
  assert.equal(stop.body.reason, reason);
  assert.match(stop.body.description ?? '', /^Paused \(reverse\): /);
}

describe('reverse debugging over DAP', function () {
  this.timeout(60000);
  let h: Harness;
  let serial = '';
  beforeEach(async () => {
    h = await startHarness();
    serial = '';
    h.client.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') serial += e.body.output;
    });
  });
  afterEach(async () => h.close());

  it('declares supportsStepBack and steps back N instructions to exactly the registers it had', async () => {
    const caps = await h.client.initializeRequest();
    assert.equal(caps.body?.supportsStepBack, true);
    await launchStopped(h.client, { program: PIT_GUEST });
    const states = [await snapshot(h)];
    for (let i = 0; i < 40; i++) {
      await stepInstruction(h);
      states.push(await snapshot(h));
    }
    for (let i = 39; i >= 0; i--) {
      const stop = await stepBack(h);
      assertReverse(stop, 'step');
      assert.match(stop.body.description ?? '', new RegExp(`instruction ${i}\\b`));
      assert.deepEqual(await snapshot(h), states[i], `after stepping back to instruction ${i}`);
    }
    // At the start of the history: a further step back says so and stays.
    const first = await stepBack(h);
    assertReverse(first, 'entry');
    assert.match(first.body.description ?? '', /start of the recorded history/);
    assert.deepEqual(await snapshot(h), states[0]);
    // Forward again retraces the same states.
    for (let i = 1; i <= 5; i++) {
      await stepInstruction(h);
      assert.deepEqual(await snapshot(h), states[i]);
    }
  });

  it('reverse-continues to the previous hit of a breakpoint in a loop, then to the start, then forward again', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PIT_GUEST });
    const fill = lineOf(PIT_GUEST, 'BP-FILL');
    await h.client.setBreakpointsRequest({ source: { path: PIT_GUEST }, breakpoints: [{ line: fill }] });
    for (let hit = 0; hit < 4; hit++) {
      await forward(h);
      assert.equal(await value(h, 'ecx'), hit);
    }
    for (let hit = 2; hit >= 0; hit--) {
      const stop = await reverseContinue(h);
      assertReverse(stop, 'breakpoint');
      assert.equal((await topFrame(h.client)).line, fill);
      assert.equal(await value(h, 'ecx'), hit, 'the loop counter of that earlier pass');
    }
    const start = await reverseContinue(h);
    assertReverse(start, 'entry');
    assert.equal((await topFrame(h.client)).line, lineOf(PIT_GUEST, 'BP-ENTRY'));
    await forward(h);
    assert.equal(await value(h, 'ecx'), 0, 'forward again from the start: the first pass');
  });

  it('steps back and forth across a PIT interrupt, and never prints serial output twice', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PIT_GUEST });
    const irq = lineOf(PIT_GUEST, 'BP-IRQ');
    await h.client.setBreakpointsRequest({ source: { path: PIT_GUEST }, breakpoints: [{ line: irq }] });
    await forward(h); // first IRQ0
    await forward(h); // second IRQ0: one '.' printed by the first handler
    const ticks = await value(h, 'dword [ticks]');
    assert.equal(ticks, 1);
    await h.client.setBreakpointsRequest({ source: { path: PIT_GUEST }, breakpoints: [] });
    // Back before the delivery, into the interrupted fill loop.
    const back = await stepBack(h);
    assertReverse(back, 'step');
    assert.match(back.body.description ?? '', /before the interrupt/);
    for (let i = 0; i < 4; i++) await stepBack(h);
    const before = await snapshot(h, ['dword [ticks]']);
    assert.notEqual((await topFrame(h.client)).line, irq);
    // Forward across the delivery, recording each state; then back over the same ground.
    const states = [before];
    let inHandler = false;
    for (let i = 0; i < 12; i++) {
      await stepInstruction(h);
      states.push(await snapshot(h, ['dword [ticks]']));
      inHandler ||= (await topFrame(h.client)).name.includes('irq0');
    }
    assert.ok(inHandler, 'the steps went through the IRQ0 handler');
    assert.equal(states[states.length - 1]!['dword [ticks]'], 2, 'the handler counted the tick');
    for (let i = states.length - 2; i >= 0; i--) {
      await stepBack(h);
      assert.deepEqual(await snapshot(h, ['dword [ticks]']), states[i], `state ${i}`);
    }
    // Run to the end: the guest prints one '.' per IRQ0 and "done"; nothing replayed is printed again.
    const ended = h.client.waitForEvent('terminated');
    await h.client.continueRequest({ threadId: 1 });
    await ended;
    const dots = serial.replace(/[^.]/g, '').length;
    assert.ok(serial.endsWith('done\n'), JSON.stringify(serial.slice(-20)));
    assert.ok(dots > 2, `dots: ${dots}`);
    assert.equal(serial, `${'.'.repeat(dots)}done\n`, 'each byte exactly once, in order');
  });

  it('steps back across a #UD fault handler: handler entry, the faulting ud2, the line before', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: FAULT_GUEST });
    await h.client.setBreakpointsRequest({ source: { path: FAULT_GUEST }, breakpoints: [{ line: lineOf(FAULT_GUEST, 'BP-HANDLER') }] });
    await forward(h);
    await forward(h); // the second #UD
    assert.equal(await value(h, 'dword [faults]'), 1);
    const edx = await value(h, 'edx');
    await h.client.setBreakpointsRequest({ source: { path: FAULT_GUEST }, breakpoints: [] });
    await stepBack(h);
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-UD2'), 'before the fault was delivered');
    assert.equal(await value(h, 'edx'), edx);
    await stepBack(h);
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-PASS'));
    assert.equal(await value(h, 'edx'), edx - 1, 'add edx, ecx undone (ecx = 1)');
    // Line granularity: from after the handler's iretd back over it, one source line at a time.
    await h.client.setBreakpointsRequest({ source: { path: FAULT_GUEST }, breakpoints: [{ line: lineOf(FAULT_GUEST, 'BP-AFTER-UD2') }] });
    await forward(h);
    assert.equal(await value(h, 'dword [faults]'), 2);
    const line = await stepBack(h, 'line');
    assertReverse(line, 'step');
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-IRET'));
    await stepBack(h, 'line');
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-IRET') - 1);
    assert.equal(await value(h, 'dword [faults]'), 2);
    // The handler's first instruction ran in the same instruction-count step as the #UD delivery, so the
    // previous line position is the faulting ud2 itself, before the fault was taken.
    await stepBack(h, 'line');
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-UD2'));
    assert.equal(await value(h, 'dword [faults]'), 1, 'memory is the travelled-to state too');
    await stepBack(h, 'line');
    assert.equal((await topFrame(h.client)).line, lineOf(FAULT_GUEST, 'BP-PASS'));
  });

  it('keeps a memory edit made while stopped when stepping back to that instruction, and undoes it before', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PIT_GUEST });
    for (let i = 0; i < 3; i++) await stepInstruction(h);
    const table = await value(h, 'table');
    await h.client.customRequest('writeMemory', { memoryReference: `0x${table.toString(16)}`, data: Buffer.from([0xde, 0xc0, 0xad, 0x0b]).toString('base64') });
    for (let i = 0; i < 3; i++) await stepInstruction(h);
    for (let i = 0; i < 3; i++) await stepBack(h);
    assert.equal(await value(h, 'dword [table]'), 0x0badc0de, 'the edit made at this instruction count is kept');
    await stepBack(h);
    assert.equal(await value(h, 'dword [table]'), 0, 'before the edit, memory is what the guest had');
  });

  it('keeps a register edit when stepping back by line to it (the line search does not replay the run before the edit)', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PIT_GUEST });
    for (let i = 0; i < 5; i++) await stepInstruction(h);
    const scopes = (await h.client.scopesRequest({ frameId: (await topFrame(h.client)).id })).body.scopes;
    await h.client.setVariableRequest({ variablesReference: scopes[0]!.variablesReference, name: 'edx', value: '0x1234' });
    const edited = await snapshot(h);
    for (let i = 0; i < 2; i++) await stepInstruction(h); // mov es, ax / mov ss, ax: EDX unchanged
    await stepBack(h, 'line');
    assert.equal(await value(h, 'edx'), 0x1234, 'one line back: still the edited EDX');
    await stepBack(h, 'line');
    assert.deepEqual(await snapshot(h), edited, 'at the edit: the edited state');
    await stepBack(h, 'line');
    assert.notEqual(await value(h, 'edx'), 0x1234, 'before the edit: the EDX the guest had');
  });

  it('refuses stepBack when the history is off', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: PIT_GUEST, reverseHistoryMB: 0 });
    assert.match(await expectError(h.client.stepBackRequest({ threadId: 1 })), /reverse debugging is off/);
    assert.match(await expectError(h.client.reverseContinueRequest({ threadId: 1 })), /reverse debugging is off/);
  });
});

describe('reverse debugging under trap-and-emulate (DAP)', function () {
  this.timeout(60_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** The virtual IF the guest believes in, from the "Virtual CPU" scope of the top guest frame. */
  async function virtualIf(): Promise<string> {
    const frames = (await h.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    const guest = frames.find((f) => f.source?.path === TAE)!;
    const scopes = (await h.client.scopesRequest({ frameId: guest.id })).body.scopes;
    const virtual = scopes.find((s) => /^Virtual CPU/.test(s.name))!;
    return (await h.client.variablesRequest({ variablesReference: virtual.variablesReference })).body.variables.find((v) => v.name === 'IF')!.value;
  }
  const next = (): Promise<DebugProtocol.StoppedEvent> => stopAfter(h, () => h.client.nextRequest({ threadId: 1 }));

  it('steps back across a trap: the emulated cli is undone with its VMM handler, and runs forward through the VMM again', async () => {
    const trace: string[] = [];
    h.client.on('output', (e: DebugProtocol.OutputEvent) => trace.push(e.body.output));
    const cliTraps = (): number => trace.filter((t) => /trap guest-kernel → vmm: #GP: cli/.test(t)).length;
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: TAE, technique: 'trap-and-emulate', trace: true });
    await next();
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-CLI'));
    const before = await snapshot(h);
    await next();
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-AFTER-CLI'));
    assert.equal(cliTraps(), 1);
    const after = await snapshot(h);
    assert.notDeepEqual(after, before);

    const back = await stepBack(h);
    assertReverse(back, 'step');
    assert.match(back.body.description ?? '', /a trapped one is undone with its VMM handler/);
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-CLI'));
    assert.deepEqual(await snapshot(h), before, 'registers are as they were before the trap');
    assert.match(await virtualIf(), /^0 \(real IF 1\)/, 'the deprivileged guest: virtual IF 0 (Multiboot entry), real IF 1');
    assert.equal(cliTraps(), 1, 'travelling back did not execute the cli');

    await next();
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-AFTER-CLI'));
    assert.equal(cliTraps(), 2, 'running forward again traps into the VMM again');
    assert.deepEqual(await snapshot(h), after, 'and lands in the same state');
  });

  it('steps back from inside a VMM handler to before the trapping instruction, and reverse-continues to a breakpoint', async () => {
    await h.client.initializeRequest();
    await launchStopped(h.client, { program: TAE, technique: 'trap-and-emulate' });
    await next();
    await stopAfter(h, () => h.client.stepInRequest({ threadId: 1 }));
    const frames = (await h.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.match(frames[0]!.name, /^VMM: /, 'step in entered the VMM handler of cli');
    const out = await stepBack(h);
    assert.match(out.body.description ?? '', /stepped back out of the VMM handler/);
    const after = (await h.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.equal(after[0]!.source?.path, TAE);
    assert.equal(after[0]!.line, lineOf(TAE, 'BP-CLI'));

    await h.client.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [{ line: lineOf(TAE, 'BP-AFTER-CLI') }] });
    await h.client.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [{ line: lineOf(TAE, 'BP-AFTER-CLI') }, { line: lineOf(TAE, 'BP-OUT') }] });
    await forward(h);
    await forward(h);
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-OUT'));
    const rc = await reverseContinue(h);
    assertReverse(rc, 'breakpoint');
    assert.equal((await topFrame(h.client)).line, lineOf(TAE, 'BP-AFTER-CLI'));
    assert.match(await virtualIf(), /^0/, 'after the emulated cli');
  });
});
