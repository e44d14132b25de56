// SPDX-License-Identifier: MIT
// DAP tests of a multiprocessor guest (samples/smp/spinlock.asm, "vcpus": 2) through DebugClient against the
// in-process adapter: one thread per vCPU, stops that name the vCPU which hit the breakpoint (all threads
// stopped), stack traces, scopes, variables and evaluate per thread, stepping the chosen vCPU, pause, the
// refusal of reverse debugging and of several vCPUs under a VMM, and the run to the end.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { expectError, launchStopped, startHarness, type Harness } from './harness';

const SAMPLE = join(__dirname, '../../../samples/smp/spinlock.asm');

async function frames(h: Harness, threadId: number): Promise<DebugProtocol.StackFrame[]> {
  return (await h.client.stackTraceRequest({ threadId })).body.stackFrames;
}

async function register(h: Harness, frameId: number, name: string): Promise<string> {
  const scopes = (await h.client.scopesRequest({ frameId })).body.scopes;
  const registers = scopes.find((s) => s.name === 'Registers')!;
  const vars = (await h.client.variablesRequest({ variablesReference: registers.variablesReference })).body.variables;
  return vars.find((v) => v.name === name)!.value;
}

async function continueToStop(h: Harness, threadId: number): Promise<DebugProtocol.StoppedEvent> {
  const stopped = h.client.waitForEvent('stopped');
  await h.client.continueRequest({ threadId });
  return (await stopped) as DebugProtocol.StoppedEvent;
}

describe('debug adapter: several vCPUs (DAP threads)', function () {
  this.timeout(60_000);
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('one thread per vCPU; a breakpoint stop names the vCPU that hit it; stack, scopes and evaluate per thread', async () => {
    const c = h.client;
    const entry = await launchStopped(c, { program: SAMPLE, vcpus: 2 });
    assert.equal(entry.body.threadId, 1);
    const threads = (await c.threadsRequest()).body.threads;
    assert.deepEqual(threads.map((t) => [t.id, t.name]), [[1, 'vCPU 0 (BSP)'], [2, 'vCPU 1']]);
    await c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'ap_start' }] });
    const stop = await continueToStop(h, 1);
    assert.equal(stop.body.reason, 'function breakpoint');
    assert.equal(stop.body.threadId, 2, 'the AP hit ap_start');
    assert.equal(stop.body.allThreadsStopped, true);
    const ap = await frames(h, 2);
    const bsp = await frames(h, 1);
    assert.equal(ap[0]!.name, 'ap_start');
    assert.notEqual(bsp[0]!.instructionPointerReference, ap[0]!.instructionPointerReference);
    assert.ok(ap[0]!.id !== bsp[0]!.id, 'frame ids are per thread');
    assert.equal(await register(h, ap[0]!.id, 'eip'), ap[0]!.instructionPointerReference);
    assert.equal(await register(h, bsp[0]!.id, 'eip'), bsp[0]!.instructionPointerReference);
    const apCr0 = await c.evaluateRequest({ expression: 'cr0', frameId: ap[0]!.id, context: 'watch' });
    const bspCr0 = await c.evaluateRequest({ expression: 'cr0', frameId: bsp[0]!.id, context: 'watch' });
    assert.match(apCr0.body.result, /^0x60000011 /, 'the AP came up from RESET (CD NW) and set PE in its trampoline');
    assert.match(bspCr0.body.result, /^0x00000011 /);
    // A variables reference of thread 2 still answers for vCPU 1 after thread 1 was inspected.
    const apScopes = (await c.scopesRequest({ frameId: ap[0]!.id })).body.scopes;
    await frames(h, 1);
    const apRegs = (await c.variablesRequest({ variablesReference: apScopes[0]!.variablesReference })).body.variables;
    assert.equal(apRegs.find((v) => v.name === 'eip')!.value, ap[0]!.instructionPointerReference);
    assert.match(await expectError(c.stackTraceRequest({ threadId: 3 })), /no vCPU 2/);
    // Each vCPU's own local APIC: its ID, and the start-up IPI the BSP sent last.
    const apic = async (frameId: number): Promise<Record<string, string>> => {
      const scope = (await c.scopesRequest({ frameId })).body.scopes.find((x) => x.name === 'Local APIC')!;
      const rows = (await c.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
      return Object.fromEntries(rows.map((v) => [v.name, v.value]));
    };
    const apApic = await apic(ap[0]!.id);
    const bspApic = await apic(bsp[0]!.id);
    assert.equal(apApic['id'], '0x01000000');
    assert.equal(bspApic['id'], '0x00000000');
    assert.match(bspApic['last ICR']!, /start-up vector 0x08 to all excluding self/);
    assert.match(apApic['enabled']!, /software-DISABLED/, 'INIT left the AP APIC software-disabled (SVR 0xFF)');
  });

  it('steps the chosen vCPU: next on thread 2 stops on thread 2 at its next line', async () => {
    const c = h.client;
    await launchStopped(c, { program: SAMPLE, vcpus: 2 });
    await c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'ap_start' }] });
    await continueToStop(h, 1);
    await c.setFunctionBreakpointsRequest({ breakpoints: [] });
    const start = (await frames(h, 2))[0]!;
    for (let n = 1; n <= 3; n++) {
      const stopped = c.waitForEvent('stopped');
      await c.nextRequest({ threadId: 2 });
      const event = (await stopped) as DebugProtocol.StoppedEvent;
      assert.equal(event.body.reason, 'step');
      assert.equal(event.body.threadId, 2);
      const top = (await frames(h, 2))[0]!;
      assert.equal(top.line, start.line! + n, `step ${n} moves vCPU 1 one line`);
    }
    // Stepping the BSP runs exactly one BSP instruction (here in the INIT-SIPI delay loop, `loop .loop`, so
    // ECX counts down by one); vCPU 1 may finish its turn meanwhile (the scheduler keeps running: all-stop).
    const ecx = async (): Promise<number> => {
      const top = (await frames(h, 1))[0]!;
      assert.equal(top.name, 'delay.loop');
      return Number.parseInt((await c.evaluateRequest({ expression: 'ecx', frameId: top.id, context: 'watch' })).body.result, 16);
    };
    const before = await ecx();
    for (let n = 1; n <= 2; n++) {
      const stopped = c.waitForEvent('stopped');
      await c.stepInRequest({ threadId: 1, granularity: 'instruction' });
      assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.threadId, 1);
      assert.equal(await ecx(), before - n);
    }
  });

  it('a breakpoint in code both vCPUs run is hit by each; pause stops all; the run ends with the totals', async () => {
    const c = h.client;
    await launchStopped(c, { program: SAMPLE, vcpus: 2 });
    await c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'spin_unlock' }] });
    const seen = new Set<number>();
    for (let k = 0; k < 40 && seen.size < 2; k++) seen.add((await continueToStop(h, 1)).body.threadId!);
    assert.deepEqual([...seen].sort(), [1, 2], 'both vCPUs stopped at spin_unlock');
    await c.setFunctionBreakpointsRequest({ breakpoints: [] });
    const paused = c.waitForEvent('stopped');
    await c.continueRequest({ threadId: 1 });
    await c.pauseRequest({ threadId: 1 });
    const pause = (await paused) as DebugProtocol.StoppedEvent;
    assert.equal(pause.body.reason, 'pause');
    assert.equal(pause.body.allThreadsStopped, true);
    assert.match(await expectError(c.stepBackRequest({ threadId: 1 })), /multiprocessor guests/);
    let output = '';
    c.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.category === 'stdout') output += e.body.output; });
    const exited = c.waitForEvent('exited');
    await c.continueRequest({ threadId: 1 });
    assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 1);
    assert.match(output, /cpu 0 done\n/);
    assert.match(output, /total 40000 under the spinlock, 40000 with lock xadd\n/);
  });

  it('a data breakpoint watches every vCPU: the AP writing aps_done stops on thread 2', async () => {
    const c = h.client;
    await launchStopped(c, { program: SAMPLE, vcpus: 2 });
    const info = await c.dataBreakpointInfoRequest({ name: 'aps_done' });
    assert.ok(info.body.dataId !== null, info.body.description);
    const set = await c.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0]!.verified, true);
    const stop = await continueToStop(h, 1);
    assert.equal(stop.body.reason, 'data breakpoint');
    assert.equal(stop.body.threadId, 2, 'only the AP writes aps_done (lock inc)');
    const value = await c.evaluateRequest({ expression: 'dword [aps_done]', context: 'watch' });
    assert.match(value.body.result, /^0x00000001 /);
  });

  it('several vCPUs under a VMM technique: the launch fails and names the technique', async () => {
    const c = h.client;
    for (const technique of ['trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted']) {
      const message = await expectError(Promise.all([c.configurationSequence(), c.launch({ program: SAMPLE, technique, vcpus: 2 })]));
      assert.match(message, new RegExp(`the ${technique} VMM virtualizes one vCPU only`));
    }
  });
});
