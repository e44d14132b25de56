// SPDX-License-Identifier: MIT
// Virtualization-event filters under the paravirtual engine take the debugger's full-speed path (runtime.ts
// runWatchedFast: a CPU event the VMM intercepts — a hypercall, a fault from ring 3 — is held back and handed
// to engine.step(); the PV engine's end-of-slice look, timer and upcall, waits while it is held back). Every
// filtered stop must land exactly where the step-by-step path lands: the same stop text, call stack and guest
// registers, for hypercalls, event upcalls (interrupt injection), I/O hops and the #GP of a ring-3 cli, on a
// guest with a timer, ring-3 code and fast system calls. Before the PV engine did its end-of-slice look on
// debugger steps, the step-by-step path never fired the timer: minikernel-pv slept in sched_op(block) forever
// under any filter. The slow path is forced by taking paravirtual out of DEFERRING_TECHNIQUES for one session.
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';
import { DEFERRING_TECHNIQUES } from '../../../src/debug-adapter/runtime';
import { startHarness } from '../debug-adapter/harness';

const MINIKERNEL_PV = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'minikernel-pv.asm');
const PV_LOOP = join(__dirname, '..', 'reverse', 'fixtures', 'pv.asm');

interface StopRecord {
  readonly text: string;
  readonly frames: string;
  readonly registers: string;
}

type Filter = { readonly filterId: string; readonly condition?: string };

async function record(c: DebugClient, stop: DebugProtocol.StoppedEvent): Promise<StopRecord> {
  const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  const guest = frames.find((f) => f.presentationHint !== 'label' && !/^(VMM|host|management)\b/.test(f.name)) ?? frames[0]!;
  const registers: string[] = [];
  for (const name of ['eip', 'esp', 'eax', 'ecx', 'ebp', 'eflags']) registers.push(`${name}=${(await c.evaluateRequest({ expression: name, context: 'repl', frameId: guest.id })).body.result}`);
  return {
    text: `${stop.body.reason}: ${stop.body.text ?? ''} | ${stop.body.description ?? ''}`,
    frames: frames.map((f) => `${f.presentationHint ?? '-'} ${f.name} @${f.source?.name ?? ''}:${f.line}`).join('\n'),
    registers: registers.join(' '),
  };
}

/** Launches with `filters`, then continues until `count` filtered stops were seen or the guest ended. */
async function filteredStops(program: string, filters: readonly Filter[], count: number, fast: boolean): Promise<{ stops: StopRecord[]; exitCode: number | undefined }> {
  const deferring = DEFERRING_TECHNIQUES as Set<string>;
  if (!fast) deferring.delete('paravirtual');
  const h = await startHarness();
  try {
    const c = h.client;
    const stops: StopRecord[] = [];
    let exitCode: number | undefined;
    let stopped = c.waitForEvent('stopped');
    const exited = c.waitForEvent('exited').then((e) => {
      exitCode = (e as DebugProtocol.ExitedEvent).body.exitCode;
    });
    const ended = c.waitForEvent('terminated').then(() => undefined);
    const init = c.waitForEvent('initialized').then(async () => {
      await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [...filters] });
      await c.configurationDoneRequest();
    });
    await c.launch({ technique: 'paravirtual', program });
    await init;
    while (stops.length < count) {
      const next = await Promise.race([stopped, ended]);
      if (next === undefined) break;
      stops.push(await record(c, next as DebugProtocol.StoppedEvent));
      stopped = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
    }
    if (stops.length < count) await exited;
    return { stops, exitCode };
  } finally {
    deferring.add('paravirtual');
    await h.close();
  }
}

async function sameStops(program: string, filters: readonly Filter[], count: number): Promise<{ stops: StopRecord[]; exitCode: number | undefined }> {
  const slow = await filteredStops(program, filters, count, false);
  const fast = await filteredStops(program, filters, count, true);
  assert.ok(slow.stops.length > 0, 'the filters stop the guest at all');
  for (let n = 0; n < Math.max(slow.stops.length, fast.stops.length); n++) assert.deepEqual(fast.stops[n], slow.stops[n], `filtered stop ${n + 1} of ${slow.stops.length}`);
  assert.equal(fast.exitCode, slow.exitCode, 'the same ending');
  return fast;
}

describe('debug adapter: virtualization-event filters under paravirtual (full-speed path)', function () {
  this.timeout(180_000);

  it('paravirtual is watched at full speed', () => {
    assert.ok(DEFERRING_TECHNIQUES.has('paravirtual'));
  });

  it('hypercalls, event upcalls and I/O hops stop where the step-by-step path stops, to the guest\'s end (fixtures/pv.asm)', async () => {
    const filters = [{ filterId: 'hypercall', condition: 'xen_version' }, { filterId: 'interrupt-injection' }, { filterId: 'io-hop' }];
    const { stops, exitCode } = await sameStops(PV_LOOP, filters, 1000);
    assert.equal(exitCode, 1, 'sched_op shutdown with status 0 after every filtered stop');
    const texts = stops.map((s) => s.text).join('\n');
    assert.ok(stops.filter((s) => /hypercall 17 xen_version/.test(s.text)).length === 40, texts);
    assert.ok(stops.some((s) => /event upcall|inject/i.test(s.text)), texts);
    assert.ok(stops.some((s) => /I\/O hop/.test(s.text)), texts);
  });

  it('a kernel with a timer, ring-3 code and fast system calls stops alike: iret hypercalls, upcalls, the #GP of a ring-3 cli (minikernel-pv.asm)', async () => {
    const filters = [{ filterId: 'hypercall', condition: 'iret' }, { filterId: 'interrupt-injection' }, { filterId: 'trap-vector', condition: '13' }];
    const { stops, exitCode } = await sameStops(MINIKERNEL_PV, filters, 1000);
    assert.equal(exitCode, 33, 'minikernel-pv ends as it does without filters');
    const texts = stops.map((s) => s.text).join('\n');
    assert.ok(stops.some((s) => /#GP|vector 13|0xd/i.test(s.text)), texts);
    assert.ok(stops.filter((s) => /iret/.test(s.text)).length >= 3, texts);
  });
});
