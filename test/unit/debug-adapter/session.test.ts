// SPDX-License-Identifier: MIT
// DAP tests of the HyperStep adapter with DebugClient against the in-process session: launch a Multiboot
// guest assembled in memory, stop on entry, breakpoints (source, function, instruction, conditions, hit
// counts, logpoints), stepping in/over/out, registers and flags, setVariable, memory, disassembly,
// evaluate, pause of a looping guest, exception filters, serial output and the exit status.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import { expectError, FIXTURES, IRQ, KERNEL, launchStopped, lineOf, SPIN, startHarness, TAE, topFrame, TRAP, type Harness } from './harness';

describe('debug adapter (DAP, in-process)', function () {
  this.timeout(20_000);
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('stops on entry at the first instruction of start, with serial output and exit status after continue', async () => {
    const c = h.client;
    const stopped = await launchStopped(c, { program: KERNEL });
    assert.equal(stopped.body.reason, 'entry');
    const frame = await topFrame(c);
    assert.equal(frame.line, lineOf(KERNEL, 'BP-ENTRY'));
    assert.equal(frame.name, 'start');
    assert.equal(frame.instructionPointerReference, '0x00100020');
    const output = c.assertOutput('stdout', 'hello from the debuggee');
    const magic = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await output;
    const magicStop = (await magic) as DebugProtocol.StoppedEvent;
    assert.equal(magicStop.body.reason, 'breakpoint');
    assert.match(magicStop.body.description ?? '', /xchg bx, bx/);
    const exited = c.waitForEvent('exited');
    const terminated = c.waitForEvent('terminated');
    await c.continueRequest({ threadId: 1 });
    assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 7);
    await terminated;
  });

  it('verifies source breakpoints, moves them to the next instruction line, and hits them', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const loop = lineOf(KERNEL, 'BP-LOOP');
    const set = await c.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: loop - 1 }, { line: 3 }, { line: 10_000 }] });
    const [moved, header, beyond] = set.body.breakpoints;
    assert.equal(moved!.verified, true);
    assert.equal(moved!.line, loop, 'a breakpoint on the label line moves to the instruction below');
    assert.equal(header!.verified, true, 'a comment line binds to the first instruction after it');
    assert.equal(beyond!.verified, false);
    await c.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: loop, condition: 'ecx == 4' }] });
    const stopped = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await stopped; // the magic breakpoint comes first
    const atLoop = c.assertStoppedLocation('breakpoint', { line: loop });
    await c.continueRequest({ threadId: 1 });
    await atLoop;
    const ecx = await c.evaluateRequest({ expression: 'ecx', context: 'watch' });
    assert.match(ecx.body.result, /^0x00000004 /, 'stops before `inc ecx` only once ecx == 4 holds');
  });

  it('honours hit counts and logpoints', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const loop = lineOf(KERNEL, 'BP-LOOP');
    const logged: string[] = [];
    c.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'console' && e.body.output.startsWith('ecx is')) logged.push(e.body.output.trim());
    });
    await c.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: loop, logMessage: 'ecx is {ecx}' }, { line: loop + 1, hitCondition: '==6' }] });
    const magic = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await magic;
    const hit = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await hit;
    // The hit-count breakpoint sits on `cmp ecx, 10` (after inc): its 6th hit has ecx = 6.
    const ecx = await c.evaluateRequest({ expression: 'ecx' });
    assert.match(ecx.body.result, /^0x00000006 /);
    assert.deepEqual(logged, ['ecx is 0x0', 'ecx is 0x1', 'ecx is 0x2', 'ecx is 0x3', 'ecx is 0x4', 'ecx is 0x5'], 'the logpoint printed and did not stop');
  });

  it('steps over, into and out of calls with a tracked call stack', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const callOuter = lineOf(KERNEL, 'BP-CALL-OUTER');
    await c.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: callOuter }] });
    const atCall = c.assertStoppedLocation('breakpoint', { line: callOuter });
    await c.continueRequest({ threadId: 1 });
    await atCall;
    // step in: into outer, then over `push ebx`, then into inner
    const stop = c.waitForEvent('stopped').then(() => c.stackTraceRequest({ threadId: 1 }));
    await c.stepInRequest({ threadId: 1 });
    const inOuter = await stop;
    assert.equal(inOuter.body.stackFrames[0]!.name, 'outer');
    assert.equal(inOuter.body.stackFrames[1]!.line, callOuter, 'the caller frame is at the call instruction');
    assert.equal(inOuter.body.totalFrames, 2);
    let next = c.waitForEvent('stopped');
    await c.nextRequest({ threadId: 1 });
    await next;
    assert.equal((await topFrame(c)).line, lineOf(KERNEL, 'BP-CALL-INNER'));
    next = c.waitForEvent('stopped');
    await c.stepInRequest({ threadId: 1 });
    await next;
    const inInner = await c.stackTraceRequest({ threadId: 1 });
    assert.deepEqual(inInner.body.stackFrames.map((f) => f.name), ['inner', 'outer', 'start']);
    assert.equal(inInner.body.stackFrames[0]!.line, lineOf(KERNEL, 'BP-INNER'));
    // paging: the second frame only
    const paged = await c.stackTraceRequest({ threadId: 1, startFrame: 1, levels: 1 });
    assert.equal(paged.body.stackFrames.length, 1);
    assert.equal(paged.body.stackFrames[0]!.name, 'outer');
    assert.equal(paged.body.totalFrames, 3);
    next = c.waitForEvent('stopped');
    await c.stepOutRequest({ threadId: 1 });
    await next;
    assert.equal((await topFrame(c)).line, lineOf(KERNEL, 'BP-AFTER-INNER'));
    next = c.waitForEvent('stopped');
    await c.stepOutRequest({ threadId: 1 });
    await next;
    const back = await c.stackTraceRequest({ threadId: 1 });
    assert.equal(back.body.stackFrames[0]!.line, lineOf(KERNEL, 'BP-AFTER-OUTER'));
    assert.equal(back.body.totalFrames, 1);
    const eax = await c.evaluateRequest({ expression: 'eax' });
    assert.match(eax.body.result, /^0x0000000a /, 'outer doubled eax = 5');
  });

  it('steps over a call at line granularity and by single instructions', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    let next = c.waitForEvent('stopped');
    await c.nextRequest({ threadId: 1 });
    await next;
    next = c.waitForEvent('stopped');
    await c.nextRequest({ threadId: 1 });
    await next;
    assert.equal((await topFrame(c)).line, lineOf(KERNEL, 'BP-CALL-PUTS'));
    const output = c.assertOutput('stdout', 'hello from the debuggee');
    next = c.waitForEvent('stopped');
    await c.nextRequest({ threadId: 1 });
    await next;
    await output;
    assert.equal((await topFrame(c)).line, lineOf(KERNEL, 'BP-AFTER-PUTS'));
    const before = (await topFrame(c)).instructionPointerReference;
    next = c.waitForEvent('stopped');
    await c.stepInRequest({ threadId: 1, granularity: 'instruction' });
    await next;
    const after = (await topFrame(c)).instructionPointerReference;
    assert.equal(Number(after) - Number(before), 5, 'mov eax, 5 is five bytes');
  });

  it('shows registers, decoded EFLAGS, segments and control registers, and sets registers and flags', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const frame = await topFrame(c);
    const scopes = await c.scopesRequest({ frameId: frame.id });
    assert.deepEqual(scopes.body.scopes.map((s) => s.name), ['Registers', 'Segments', 'System']);
    const regs = await c.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
    const byName = new Map(regs.body.variables.map((v) => [v.name, v]));
    assert.equal(byName.get('eax')!.value, '0x2badb002', 'Multiboot hands over EAX = 0x2BADB002');
    assert.equal(byName.get('eip')!.value, '0x00100020');
    const eflags = byName.get('eflags')!;
    const bits = await c.variablesRequest({ variablesReference: eflags.variablesReference });
    assert.equal(bits.body.variables.find((v) => v.name === 'IF')!.value, '0');
    const set = await c.setVariableRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference, name: 'ecx', value: '0x1234 + 1' });
    assert.equal(set.body.value, '0x00001235');
    const zf = await c.setVariableRequest({ variablesReference: eflags.variablesReference, name: 'ZF', value: '1' });
    assert.equal(zf.body.value, '1');
    assert.match((await c.evaluateRequest({ expression: 'zf' })).body.result, /^0x00000001 /);
    assert.match((await c.evaluateRequest({ expression: 'ecx' })).body.result, /^0x00001235 /);
    const segments = await c.variablesRequest({ variablesReference: scopes.body.scopes[1]!.variablesReference });
    const cs = segments.body.variables.find((v) => v.name === 'cs')!;
    const csParts = await c.variablesRequest({ variablesReference: cs.variablesReference });
    assert.match(csParts.body.variables.find((v) => v.name === 'access (hidden)')!.value, /code/);
    assert.equal(csParts.body.variables.find((v) => v.name === 'limit (hidden)')!.value, '0xffffffff');
    const system = await c.variablesRequest({ variablesReference: scopes.body.scopes[2]!.variablesReference });
    const cr0 = system.body.variables.find((v) => v.name === 'cr0')!;
    assert.equal(Number(cr0.value) & 1, 1, 'protected mode: CR0.PE = 1');
    assert.ok(system.body.variables.some((v) => v.name === 'gdtr'));
    const readOnly = await expectError(c.setVariableRequest({ variablesReference: cs.variablesReference, name: 'selector', value: '0' }));
    assert.match(readOnly, /read-only/);
  });

  it('reads and writes guest memory, disassembles with symbols, and evaluates NASM expressions', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const msg = await c.evaluateRequest({ expression: 'msg_hello' });
    const address = msg.body.memoryReference!;
    const read = await c.customRequest('readMemory', { memoryReference: address, count: 5 });
    assert.equal(Buffer.from(read.body.data, 'base64').toString('latin1'), 'hello');
    await c.customRequest('writeMemory', { memoryReference: address, data: Buffer.from('HE').toString('base64') });
    assert.match((await c.evaluateRequest({ expression: 'word [msg_hello]' })).body.result, /^0x00004548 /);
    assert.match((await c.evaluateRequest({ expression: 'byte [msg_hello + 2] == 0x6c' })).body.result, /^0x00000001 /);
    assert.match((await c.evaluateRequest({ expression: '(eax >> 16) & 0xffff' })).body.result, /^0x00002bad /);
    const unmapped = await c.customRequest('readMemory', { memoryReference: '0xfffffff0', count: 64 });
    assert.ok((unmapped.body.unreadableBytes ?? 0) > 0 || unmapped.body.data === '');
    const dis = await c.disassembleRequest({ memoryReference: '0x00100020', instructionCount: 4 });
    const lines = dis.body!.instructions;
    assert.equal(lines[0]!.symbol, 'start');
    assert.match(lines[0]!.instruction, /^mov esp,/);
    assert.equal(lines[0]!.line, lineOf(KERNEL, 'BP-ENTRY'));
    assert.match(lines[2]!.instruction, /^call puts/);
    const back = await c.disassembleRequest({ memoryReference: '0x00100020', instructionOffset: -2, instructionCount: 3 });
    assert.equal(back.body!.instructions[2]!.address, '0x00100020');
    assert.match(await expectError(c.evaluateRequest({ expression: 'nosuchlabel + 1' })), /neither a register/);
    const local = await c.evaluateRequest({ expression: '.count', context: 'hover' });
    assert.equal(local.body.memoryReference, (await c.evaluateRequest({ expression: 'start.count' })).body.memoryReference, 'a .local label resolves within the enclosing label');
  });

  it('breaks on labels (function breakpoints) and instruction breakpoints', async () => {
    const c = h.client;
    await launchStopped(c, { program: KERNEL });
    const fn = await c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'inner' }, { name: 'missing' }] });
    assert.equal(fn.body.breakpoints[0]!.verified, true);
    assert.equal(fn.body.breakpoints[1]!.verified, false);
    const atInner = c.assertStoppedLocation('function breakpoint', { line: lineOf(KERNEL, 'BP-INNER') });
    await c.continueRequest({ threadId: 1 });
    await atInner;
    await c.setFunctionBreakpointsRequest({ breakpoints: [] });
    const dis = await c.disassembleRequest({ memoryReference: (await topFrame(c)).instructionPointerReference!, instructionCount: 2 });
    const ret = dis.body!.instructions[1]!;
    assert.equal(ret.instruction, 'ret');
    const ib = await c.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: ret.address }] });
    assert.equal(ib.body.breakpoints[0].verified, true);
    const stopped = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'instruction breakpoint');
    assert.equal((await topFrame(c)).instructionPointerReference, ret.address);
  });

  it('pauses a guest that loops forever, and answers requests while it runs', async () => {
    const c = h.client;
    await launchStopped(c, { program: SPIN });
    await c.continueRequest({ threadId: 1 });
    const threads = await c.threadsRequest();
    assert.deepEqual(threads.body.threads.map((t) => t.name), ['vCPU 0']);
    assert.match(await expectError(c.stackTraceRequest({ threadId: 1 })), /running/);
    const paused = c.waitForEvent('stopped');
    await c.pauseRequest({ threadId: 1 });
    assert.equal(((await paused) as DebugProtocol.StoppedEvent).body.reason, 'pause');
    const frame = await topFrame(c);
    assert.ok([lineOf(SPIN, 'BP-SPIN'), lineOf(SPIN, 'BP-SPIN') + 1].includes(frame.line));
  });

  it('stops on a guest exception before delivery when the filter is on', async () => {
    const c = h.client;
    const entry = c.waitForEvent('stopped');
    const init = c.waitForEvent('initialized').then(async () => {
      await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'guest-exception', condition: '#DE' }] });
      await c.configurationDoneRequest();
    });
    await c.launch({ technique: 'native', program: SPIN, defines: { FAULT: 1 }, stopOnEntry: false });
    await init;
    const stop = (await entry) as DebugProtocol.StoppedEvent;
    assert.equal(stop.body.reason, 'exception');
    assert.equal((await topFrame(c)).line, lineOf(SPIN, 'BP-FAULT'));
    const info = await c.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, '#DE');
  });

  it('refuses bad launches and malformed, out-of-order and unknown requests, and lives on', async () => {
    const c = h.client;
    await c.initializeRequest();
    assert.match(await expectError(c.threadsRequest().then(() => c.stackTraceRequest({ threadId: 1 }))), /launch first/);
    assert.match(await expectError(c.customRequest('noSuchRequest')), /unknown request/);
    assert.match(await expectError(c.launchRequest({ program: KERNEL, technique: 'quantum' } as DebugProtocol.LaunchRequestArguments)), /technique/);
    assert.match(await expectError(c.launchRequest({ program: KERNEL, technique: 'native', memoryMB: 'lots' } as DebugProtocol.LaunchRequestArguments)), /memoryMB/);
    assert.match(await expectError(c.launchRequest({ technique: 'native' } as DebugProtocol.LaunchRequestArguments)), /'program' is required/);
    assert.match(await expectError(c.launchRequest({ technique: 'native', program: '/no/such/file.asm' } as DebugProtocol.LaunchRequestArguments)), /cannot read/);
    assert.match(await expectError(c.continueRequest({ threadId: 1 })), /launch first/);
    assert.match(await expectError(c.setBreakpointsRequest({} as DebugProtocol.SetBreakpointsArguments)), /source/);
    assert.match(await expectError(c.configurationDoneRequest()), /before a successful launch/);
    const ok = await c.launchRequest({ technique: 'native', program: KERNEL } as DebugProtocol.LaunchRequestArguments);
    assert.equal(ok.success, true);
    assert.match(await expectError(c.customRequest('readMemory', { memoryReference: 'nowhere', count: 4 })), /memory reference/);
    assert.match(await expectError(c.customRequest('threads', ['not', 'an', 'object'])), /must be an object/);
    assert.match(await expectError(c.evaluateRequest({ expression: 42 } as unknown as DebugProtocol.EvaluateArguments)), /'expression' is required/);
    assert.equal((await c.threadsRequest()).body.threads.length, 1, 'still alive after all of that');
  });
});

describe('debug adapter: call stack across interrupt frames', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('recovers handler frames and the interrupted code after a full-speed continue', async () => {
    const c = h.client;
    await launchStopped(c, { program: TRAP });
    await c.setBreakpointsRequest({ source: { path: TRAP }, breakpoints: [{ line: lineOf(TRAP, 'BP-HELPER') }] });
    const hit = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await hit;
    const trace = await c.stackTraceRequest({ threadId: 1 });
    const frames = trace.body.stackFrames;
    assert.deepEqual(frames.map((f) => (f.name.startsWith('int 0x30') ? 'SEPARATOR' : f.name)), ['helper', 'handler', 'SEPARATOR', 'start']);
    assert.equal(frames[1]!.line, lineOf(TRAP, 'BP-HANDLER-CALL'));
    assert.equal(frames[2]!.presentationHint, 'label');
    assert.equal(frames[3]!.line, lineOf(TRAP, 'BP-INT'), 'the interrupted frame is shown at the INT instruction');
  });

  it('steps into an INT handler, out through IRET, and over INT n', async () => {
    const c = h.client;
    await launchStopped(c, { program: TRAP });
    await c.setBreakpointsRequest({ source: { path: TRAP }, breakpoints: [{ line: lineOf(TRAP, 'BP-INT') }] });
    let stop = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await stop;
    stop = c.waitForEvent('stopped');
    await c.stepInRequest({ threadId: 1 });
    await stop;
    const inHandler = await c.stackTraceRequest({ threadId: 1 });
    assert.equal(inHandler.body.stackFrames[0]!.line, lineOf(TRAP, 'BP-HANDLER-CALL'));
    assert.equal(inHandler.body.stackFrames[1]!.presentationHint, 'label');
    stop = c.waitForEvent('stopped');
    await c.stepOutRequest({ threadId: 1 });
    await stop;
    assert.equal((await topFrame(c)).line, lineOf(TRAP, 'BP-INT-AGAIN'));
    stop = c.waitForEvent('stopped');
    await c.nextRequest({ threadId: 1 });
    await stop;
    const after = await c.stackTraceRequest({ threadId: 1 });
    assert.equal(after.body.stackFrames[0]!.line, lineOf(TRAP, 'BP-AFTER-INT'));
    assert.equal(after.body.totalFrames, 1);
  });
});

describe('debug adapter: triple fault', function () {
  this.timeout(20_000);
  it('stops on a triple fault for inspection, then ends the session with the shutdown status', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stopped = c.waitForEvent('stopped');
      await Promise.all([c.configurationSequence(), c.launch({ technique: 'native', program: SPIN, defines: { TRIPLE: 1 } })]);
      const stop = (await stopped) as DebugProtocol.StoppedEvent;
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /[Tt]riple fault/);
      assert.equal((await c.exceptionInfoRequest({ threadId: 1 })).body.exceptionId, 'triple fault');
      assert.ok((await c.stackTraceRequest({ threadId: 1 })).body.stackFrames.length >= 1, 'the dead CPU can still be inspected');
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 4);
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: prebuilt flat binary (no source map)', function () {
  this.timeout(20_000);
  it('boots a flat Multiboot image, stops on entry at an address-only frame, and steps by instruction', async () => {
    const text = readFileSync(KERNEL, 'utf8');
    const built = assemble({ path: KERNEL, text }, { format: 'bin', listing: false });
    assert.equal(built.ok, true);
    const dir = mkdtempSync(join(tmpdir(), 'hyperstep-da-'));
    const image = join(dir, 'kernel.bin');
    writeFileSync(image, built.output);
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: image });
      const frame = await topFrame(c);
      assert.equal(frame.source, undefined);
      assert.equal(frame.instructionPointerReference, '0x00100020');
      assert.equal(frame.presentationHint, 'subtle');
      const bp = await c.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: 20 }] });
      assert.equal(bp.body.breakpoints[0]!.verified, false);
      const stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      assert.equal((await topFrame(c)).instructionPointerReference, '0x00100025', 'mov esp, imm32 is five bytes');
      const dis = await c.disassembleRequest({ memoryReference: '0x00100025', instructionCount: 1 });
      assert.match(dis.body!.instructions[0]!.instruction, /^mov esi,0x/);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('debug adapter: serial input', function () {
  this.timeout(20_000);
  it('feeds serialInput to the guest COM1 and shows its echo in the Debug Console', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const echoed = c.assertOutput('stdout', 'HI THERE');
      const exited = c.waitForEvent('exited');
      await Promise.all([c.configurationSequence(), c.launch({ technique: 'native', program: join(FIXTURES, 'echo.asm'), serialInput: 'hi there\n' })]);
      await echoed;
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, (9 << 1) | 1, 'nine bytes read, newline included');
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: Debug Console commands', function () {
  this.timeout(20_000);
  it('examines memory and instructions, decodes the GDT and IDT, and explains itself', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: TRAP });
      await c.setBreakpointsRequest({ source: { path: TRAP }, breakpoints: [{ line: lineOf(TRAP, 'BP-INT') }] });
      const stop = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await stop;
      const repl = async (expression: string): Promise<string> => (await c.evaluateRequest({ expression, context: 'repl' })).body.result;
      assert.match(await repl('x/2i handler'), /^0x[0-9a-f]{8} <handler>: call helper\n0x[0-9a-f]{8}: iretd?$/);
      assert.match(await repl('x/4b start'), /^0x00100020: 0xbc 0x/);
      assert.match(await repl('x/s $'), /^0x/);
      const idt = await repl('info idt');
      assert.match(idt, /0x30: 0x[0-9a-f]{4}:0x[0-9a-f]{8} <handler> interrupt gate, DPL 0/);
      assert.match(await repl('info gdt'), /GDT at 0x[0-9a-f]{8}.*\n {2}0x0000: null\n.*code, readable/s);
      assert.match(await repl('info layers'), /native: no VMM/);
      assert.match(await repl('info nonsense'), /^commands:/);
      assert.match(await repl('eax + 1'), /^0x/, 'expressions still work in the console');
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: hardware interrupts', function () {
  this.timeout(20_000);
  it('shows the timer interrupt frame with its vector under the handler, and exits from the handler', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: IRQ });
      await c.setBreakpointsRequest({ source: { path: IRQ }, breakpoints: [{ line: lineOf(IRQ, 'BP-TICK') }] });
      const hit = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await hit;
      const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      assert.deepEqual(frames.map((f) => (f.presentationHint === 'label' ? 'LABEL' : f.name)), ['tick', 'irq0', 'LABEL', 'start.wait']);
      assert.match(frames[2]!.name, /^hardware interrupt, vector 0x8 — same number as #DF: the PIC is not remapped/);
      assert.equal(frames[1]!.line, lineOf(IRQ, 'BP-IRQ-CALL'));
      assert.equal(frames[3]!.line, lineOf(IRQ, 'BP-AFTER-HLT'), 'HLT resumes after itself: the frame holds the next instruction');
      await c.setBreakpointsRequest({ source: { path: IRQ }, breakpoints: [] });
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 5);
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: stepping across a hardware interrupt', function () {
  this.timeout(20_000);
  it('step over HLT treats the timer handler as transparent; step in enters it', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: IRQ });
      await c.setBreakpointsRequest({ source: { path: IRQ }, breakpoints: [{ line: lineOf(IRQ, 'BP-HLT') }] });
      let stop = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await stop;
      await c.setBreakpointsRequest({ source: { path: IRQ }, breakpoints: [] });
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      const over = await c.stackTraceRequest({ threadId: 1 });
      assert.equal(over.body.stackFrames[0]!.line, lineOf(IRQ, 'BP-AFTER-HLT'));
      assert.equal(over.body.totalFrames, 1);
      assert.match((await c.evaluateRequest({ expression: 'dword [ticks]' })).body.result, /^0x00000001 /, 'the tick ran while stepping over');
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 }); // jmp .wait → back at hlt
      await stop;
      stop = c.waitForEvent('stopped');
      await c.stepInRequest({ threadId: 1 });
      await stop;
      const into = await c.stackTraceRequest({ threadId: 1 });
      assert.equal(into.body.stackFrames[0]!.name, 'irq0');
      assert.equal(into.body.stackFrames[1]!.presentationHint, 'label');
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: trap-and-emulate technique', function () {
  this.timeout(20_000);
  it('runs the guest deprivileged under the VMM, with breakpoints after emulated instructions and the virtual CPU beside the real one', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const trace: string[] = [];
      c.on('output', (e: DebugProtocol.OutputEvent) => trace.push(e.body.output));
      await launchStopped(c, { program: TAE, technique: 'trap-and-emulate', architecture: 'monolithic', trace: true });
      const scopes = (await c.scopesRequest({ frameId: (await topFrame(c)).id })).body.scopes;
      assert.deepEqual(scopes.map((s) => s.name), ['Registers', 'Segments', 'System', 'Virtual CPU (as the guest believes)']);
      const system = (await c.variablesRequest({ variablesReference: scopes[2]!.variablesReference })).body.variables;
      assert.equal(system.find((v) => v.name === 'cpl')!.value, '1', 'the guest kernel really runs in ring 1');
      const virtual = (await c.variablesRequest({ variablesReference: scopes[3]!.variablesReference })).body.variables;
      assert.match(virtual.find((v) => v.name === 'cpl')!.value, /^0 \(real CPL 1\)/);
      // A breakpoint on the instruction right after the trapping CLI is hit (the VMM's emulation lands on it).
      await c.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [{ line: lineOf(TAE, 'BP-AFTER-CLI') }] });
      const hit = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await hit;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-AFTER-CLI'));
      const scopes2 = (await c.scopesRequest({ frameId: 0 })).body.scopes;
      const virtual2 = (await c.variablesRequest({ variablesReference: scopes2[3]!.variablesReference })).body.variables;
      assert.match(virtual2.find((v) => v.name === 'IF')!.value, /^0 \(real IF 1\)/, 'cli cleared the virtual IF only');
      assert.ok(trace.some((t) => /trap guest-kernel → vmm: #GP: cli/.test(t)), `the trace shows the trap:\n${trace.join('')}`);
      assert.match((await c.evaluateRequest({ expression: 'info layers', context: 'repl' })).body.result, /technique trap-and-emulate/);
      // Step over the call whose body traps on OUT: the guest exits with its status through the VMM.
      await c.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [] });
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 9);
    } finally {
      await h.close();
    }
  });

  it('steps over a trapping instruction as one guest instruction', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: TAE, technique: 'trap-and-emulate' });
      let stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-CLI'));
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-AFTER-CLI'));
      stop = c.waitForEvent('stopped');
      await c.stepInRequest({ threadId: 1, granularity: 'instruction' });
      await stop;
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      stop = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 1 });
      await stop;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-CALL-FINISH'));
      assert.match((await c.evaluateRequest({ expression: 'ebx & 0x200' })).body.result, /^0x00000200 /, 'PUSHFD saw the real IF = 1: POPF/PUSHF are not virtualized');
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: hardware-assisted technique', function () {
  this.timeout(20_000);
  it('runs the unmodified kernel in VMX non-root mode: OUT is VM exit 30, and PUSHF sees the CLI (no POPF/PUSHF lesson under VT-x)', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const trace: string[] = [];
      c.on('output', (e: DebugProtocol.OutputEvent) => trace.push(e.body.output));
      await launchStopped(c, { program: TAE, technique: 'hardware-assisted', trace: true, vmxControls: { hltExiting: true, io: 'all' } });
      assert.ok(trace.some((t) => /hardware-assisted \(VT-x\)/.test(t)), trace.join(''));
      const system = (await c.variablesRequest({ variablesReference: (await c.scopesRequest({ frameId: (await topFrame(c)).id })).body.scopes[2]!.variablesReference })).body.variables;
      assert.equal(system.find((v) => v.name === 'cpl')!.value, '0', 'under VT-x the guest kernel really runs at CPL 0 (non-root)');
      await c.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [{ line: lineOf(TAE, 'BP-CALL-FINISH') }] });
      const stop = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await stop;
      assert.equal((await topFrame(c)).line, lineOf(TAE, 'BP-CALL-FINISH'));
      assert.match((await c.evaluateRequest({ expression: 'ebx & 0x200' })).body.result, /^0x00000000 /, 'PUSHFD saw IF = 0 after CLI: equivalence holds under VT-x');
      await c.setBreakpointsRequest({ source: { path: TAE }, breakpoints: [] });
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 9);
      assert.ok(trace.some((t) => /exit 30|I\/O instruction/i.test(t)), `the trace shows the I/O VM exit:\n${trace.join('')}`);
    } finally {
      await h.close();
    }
  });
});

describe('debug adapter: prebuilt ELF kernel under trap-and-emulate (needs nasm and ld)', function () {
  this.timeout(30_000);
  it('names frames from the ELF symbol table and shows the VMM reflection of int 0x80 as a layer separator', async () => {
    for (const tool of ['nasm', 'ld']) {
      const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
      if (probe.error !== undefined) throw new Error(`${tool} is required for this test (CI installs it via .ci/run): ${probe.error.message}`);
    }
    const root = join(__dirname, '..', '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'hyperstep-elf-'));
    const elf = join(dir, 'minikernel.elf');
    const nasm = spawnSync('nasm', ['-f', 'elf32', '-I', `${join(root, 'samples', 'include')}/`, '-o', join(dir, 'k.o'), join(root, 'samples', 'vmm', 'minikernel.asm')], { encoding: 'utf8' });
    assert.equal(nasm.status, 0, nasm.stderr);
    const ld = spawnSync('ld', ['-m', 'elf_i386', '-T', join(root, 'samples', 'vmm', 'link.ld'), '-o', elf, join(dir, 'k.o')], { encoding: 'utf8' });
    assert.equal(ld.status, 0, ld.stderr);
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: elf, technique: 'trap-and-emulate' });
      const fn = await c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'syscall_handler' }] });
      assert.equal(fn.body.breakpoints[0]!.verified, true, 'labels come from the ELF symbol table');
      const hit = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
      await hit;
      const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      assert.equal(frames[0]!.name, 'syscall_handler');
      assert.equal(frames[1]!.presentationHint, 'label');
      assert.match(frames[1]!.name, /^reflect int 0x80 through the guest's virtual IDT → guest kernel$/);
      assert.match(frames[2]!.name, /^int 0x80/);
      assert.equal(frames[3]!.name, 'user_main');
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('debug adapter: VMM trap filter', function () {
  this.timeout(20_000);
  it('stops in the VMM handler of a matching trap, naming the SDM exit reason, and ignores other traps', async () => {
    const h = await startHarness();
    try {
      const c = h.client;
      const stopped = c.waitForEvent('stopped');
      const init = c.waitForEvent('initialized').then(async () => {
        await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: 'cli' }] });
        await c.configurationDoneRequest();
      });
      await c.launch({ technique: 'trap-and-emulate', program: TAE });
      await init;
      const stop = (await stopped) as DebugProtocol.StoppedEvent;
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /executed cli .* SDM exit reason \d+ \(/);
      const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      assert.match(frames[0]!.name, /^VMM: /, 'the stop is inside the VMM handler (vmmFrames.test.ts walks it)');
      assert.equal(frames.find((f) => f.source?.path === TAE)?.line, lineOf(TAE, 'BP-CLI'), 'the guest frame is at the trapping cli');
      assert.match((await c.exceptionInfoRequest({ threadId: 1 })).body.exceptionId, /^VM exit \d+: /);
      const exited = c.waitForEvent('exited');
      await c.continueRequest({ threadId: 1 });
      assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 9, 'the OUT trap does not match "cli"');
    } finally {
      await h.close();
    }
  });
});
