// SPDX-License-Identifier: MIT
// Virtualization-event filters under binary translation take the debugger's full-speed path (runtime.ts
// runWatchedFast: VMM entries the CPU raises are held back and handed to engine.step(); a translation offers an
// empty machine run before it completes). Every filtered stop must land exactly where the step-by-step path
// lands: the same stop text, the same call stack (VMM handler frame at the same step, separator, guest frames)
// and the same guest registers — for traps and callouts, translations, interrupt injection and I/O hops, on a
// guest with a timer, ring-3 code and system calls. The slow path is forced by taking BT out of
// DEFERRING_TECHNIQUES for one session (the adapter runs in-process).
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';
import { DEFERRING_TECHNIQUES } from '../../../src/debug-adapter/runtime';
import { IRQ, startHarness, TAE } from './harness';

const MINIKERNEL = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'minikernel.asm');
const ALL_FILTERS = ['vmm-trap', 'bt-translation', 'interrupt-injection', 'io-hop'].map((filterId) => ({ filterId }));

interface StopRecord {
  readonly text: string;
  readonly frames: string;
  readonly registers: string;
}

async function record(c: DebugClient, stop: DebugProtocol.StoppedEvent): Promise<StopRecord> {
  const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  const guest = frames.find((f) => f.presentationHint !== 'label' && !/^(VMM|BT)\b/.test(f.name)) ?? frames[0]!;
  const registers: string[] = [];
  for (const name of ['eip', 'esp', 'eax', 'ecx', 'eflags']) registers.push(`${name}=${(await c.evaluateRequest({ expression: name, context: 'repl', frameId: guest.id })).body.result}`);
  return {
    text: `${stop.body.reason}: ${stop.body.text ?? ''} | ${stop.body.description ?? ''}`,
    frames: frames.map((f) => `${f.presentationHint ?? '-'} ${f.name} @${f.source?.name ?? ''}:${f.line}`).join('\n'),
    registers: registers.join(' '),
  };
}

/** Launches with `filters`, then continues until `count` filtered stops were seen or the guest ended. */
async function filteredStops(program: string, filters: readonly { filterId: string; condition?: string }[], count: number, fast: boolean): Promise<StopRecord[]> {
  const deferring = DEFERRING_TECHNIQUES as Set<string>;
  if (!fast) deferring.delete('binary-translation');
  const h = await startHarness();
  try {
    const c = h.client;
    const stops: StopRecord[] = [];
    let stopped = c.waitForEvent('stopped');
    const ended = c.waitForEvent('terminated').then(() => undefined);
    const init = c.waitForEvent('initialized').then(async () => {
      await c.setExceptionBreakpointsRequest({ filters: [], filterOptions: [...filters] });
      await c.configurationDoneRequest();
    });
    await c.launch({ technique: 'binary-translation', program });
    await init;
    while (stops.length < count) {
      const next = await Promise.race([stopped, ended]);
      if (next === undefined) break;
      stops.push(await record(c, next as DebugProtocol.StoppedEvent));
      stopped = c.waitForEvent('stopped');
      await c.continueRequest({ threadId: 1 });
    }
    return stops;
  } finally {
    deferring.add('binary-translation');
    await h.close();
  }
}

async function sameStops(program: string, filters: readonly { filterId: string; condition?: string }[], count: number): Promise<StopRecord[]> {
  const slow = await filteredStops(program, filters, count, false);
  const fast = await filteredStops(program, filters, count, true);
  assert.ok(slow.length > 0, 'the filters stop the guest at all');
  for (let n = 0; n < Math.max(slow.length, fast.length); n++) assert.deepEqual(fast[n], slow[n], `filtered stop ${n + 1} of ${slow.length}`);
  return fast;
}

describe('debug adapter: virtualization-event filters under binary translation (full-speed path)', function () {
  this.timeout(120_000);

  it('binary translation is watched at full speed', () => {
    assert.ok(DEFERRING_TECHNIQUES.has('binary-translation'));
  });

  it('traps, callouts, translations and the I/O hop stop where the step-by-step path stops (tae.asm)', async () => {
    const stops = await sameStops(TAE, ALL_FILTERS, 12);
    assert.ok(stops.some((s) => /^exception: BT: /.test(s.text)), stops.map((s) => s.text).join('\n'));
    assert.ok(stops.some((s) => /callout: cli/.test(s.text) || /cli/.test(s.frames)), stops.map((s) => s.text).join('\n'));
  });

  it('timer interrupt injection and the handler\'s translations stop alike (irq.asm)', async () => {
    const stops = await sameStops(IRQ, ALL_FILTERS, 16);
    assert.ok(stops.some((s) => /inject/i.test(s.text) || /inject/i.test(s.frames)), stops.map((s) => s.text).join('\n'));
  });

  it('a kernel with ring-3 code, system calls and the timer stops alike on every filter (minikernel.asm)', async () => {
    const stops = await sameStops(MINIKERNEL, [{ filterId: 'interrupt-injection' }, { filterId: 'trap-vector', condition: '0x80' }, { filterId: 'bt-translation', condition: 'iret' }], 30);
    assert.equal(stops.length, 30, 'minikernel keeps hitting filters');
  });

  it('a condition filters the same stops on both paths (translations holding a rewritten instruction)', async () => {
    await sameStops(MINIKERNEL, [{ filterId: 'bt-translation', condition: 'rewritten' }, { filterId: 'vmm-trap', condition: 'out' }], 10);
  });
});
