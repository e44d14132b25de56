// Virtualization-event filters under hardware assist take the debugger's full-speed path (runtime.ts
// runWatchedFast): the VM exit the CPU raises is held back, the engine remembers it (noteHeldExit) and its step()
// starts the exit handler instead of entering the guest again; between handler steps a free run offers the
// embedding an empty machine run, so a transition a step records (I/O hop, injection) stops there. Every filtered
// stop must land exactly where the step-by-step path lands: the same stop text, call stack (VMM handler frame
// at the same step, separator, guest frames) and guest registers — for VM exits by reason, EPT violations, shadow
// paging with EPT off, I/O hops and interrupt injection. The slow path is forced by taking 'hardware-assisted'
// out of DEFERRING_TECHNIQUES for one session (the adapter runs in-process).
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';
import { DEFERRING_TECHNIQUES } from '../../../src/debug-adapter/runtime';
import { startHarness, TAE } from '../debug-adapter/harness';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples', 'vmm');
const MINIKERNEL = join(SAMPLES, 'minikernel.asm');
const FORKBENCH = join(SAMPLES, 'forkbench.asm');

interface StopRecord {
  readonly text: string;
  readonly frames: string;
  readonly registers: string;
}

type Filters = readonly { filterId: string; condition?: string }[];

async function record(c: DebugClient, stop: DebugProtocol.StoppedEvent): Promise<StopRecord> {
  const frames = (await c.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  const guest = frames.find((f) => f.presentationHint !== 'label' && !/^VMM\b/.test(f.name)) ?? frames[0]!;
  const registers: string[] = [];
  for (const name of ['eip', 'esp', 'eax', 'ecx', 'eflags']) registers.push(`${name}=${(await c.evaluateRequest({ expression: name, context: 'repl', frameId: guest.id })).body.result}`);
  return {
    text: `${stop.body.reason}: ${stop.body.text ?? ''} | ${stop.body.description ?? ''}`,
    frames: frames.map((f) => `${f.presentationHint ?? '-'} ${f.name} @${f.source?.name ?? ''}:${f.line}`).join('\n'),
    registers: registers.join(' '),
  };
}

/** Launches under hardware assist with `filters`, then continues until `count` filtered stops or the end. */
async function filteredStops(program: string, vmxControls: object, filters: Filters, count: number, fast: boolean): Promise<StopRecord[]> {
  const deferring = DEFERRING_TECHNIQUES as Set<string>;
  if (!fast) deferring.delete('hardware-assisted');
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
    await c.launch({ technique: 'hardware-assisted', program, vmxControls });
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
    deferring.add('hardware-assisted');
    await h.close();
  }
}

async function sameStops(program: string, vmxControls: object, filters: Filters, count: number): Promise<StopRecord[]> {
  const slow = await filteredStops(program, vmxControls, filters, count, false);
  const fast = await filteredStops(program, vmxControls, filters, count, true);
  assert.ok(slow.length > 0, 'the filters stop the guest at all');
  assert.equal(fast.length, slow.length, 'as many filtered stops on both paths');
  for (let n = 0; n < slow.length; n++) assert.deepEqual(fast[n], slow[n], `filtered stop ${n + 1} of ${slow.length}`);
  return fast;
}

const dump = (stops: readonly StopRecord[]): string => stops.map((s) => s.text).join('\n');

describe('debug adapter: virtualization-event filters under hardware assist (full-speed path)', function () {
  this.timeout(180_000);

  it('hardware assist is watched at full speed', () => {
    assert.ok(DEFERRING_TECHNIQUES.has('hardware-assisted'));
  });

  it('VM exits by reason and the I/O hops stop where the step-by-step path stops (tae.asm, every I/O exits)', async () => {
    const stops = await sameStops(TAE, { io: 'all' }, [{ filterId: 'vmm-trap' }, { filterId: 'io-hop' }], 12);
    assert.ok(stops.some((s) => /exit reason 30/.test(s.text)), dump(stops));
  });

  it('EPT violations stop alike (forkbench, lazily filled EPT)', async () => {
    const stops = await sameStops(FORKBENCH, {}, [{ filterId: 'memory-virtualization' }], 8);
    assert.ok(stops.every((s) => /EPT violation/.test(s.text)), dump(stops));
  });

  it('shadow paging with EPT off: #PF exits, CR3 switches and injected true faults stop alike (forkbench)', async () => {
    const stops = await sameStops(FORKBENCH, { ept: false }, [{ filterId: 'memory-virtualization' }, { filterId: 'vmm-trap', condition: '28' }], 12);
    assert.ok(stops.some((s) => /exit reason 28/.test(s.text)), dump(stops));
  });

  it('timer interrupts waking a halted kernel (exit 1): same exits and guest state; the fast path stops at the handler\'s first step', async () => {
    // The step-by-step path advances a halted guest with engine.run(1) (runtime.ts runWatched), which finishes the
    // exit handler before it can stop, so it shows the exit transition; the fast path stops at the handler's first
    // step, where a debugger step into a running guest's exit lands. Everything else must be equal.
    const filters = [{ filterId: 'interrupt-injection' }, { filterId: 'vmm-trap', condition: '1' }];
    const slow = await filteredStops(MINIKERNEL, { externalInterruptExiting: true }, filters, 6, false);
    const fast = await filteredStops(MINIKERNEL, { externalInterruptExiting: true }, filters, 6, true);
    assert.equal(fast.length, 6);
    assert.equal(fast.length, slow.length);
    if (process.env.SHOW_STOPS) for (let n = 0; n < fast.length; n++) console.log(`--- ${n + 1}\nFAST ${fast[n]!.frames}\nSLOW ${slow[n]!.frames}`);
    const stripTop = (r: StopRecord) => ({ ...r, text: r.text.replace(/ Stopped at the start of the VMM's .*$/, ''), frames: r.frames.split('\n').slice(1).join('\n') });
    let halted = 0;
    for (let n = 0; n < fast.length; n++) {
      if (/^- VMM: VM exit 1 \(External interrupt\) @VMM \[vm-exit\]/.test(slow[n]!.frames)) {
        halted++;
        assert.deepEqual(stripTop(fast[n]!), stripTop(slow[n]!), `filtered stop ${n + 1}`);
        assert.match(fast[n]!.frames.split('\n')[0]!, /^- VMM: external interrupt \(reason 1\) — read exit reason/, `fast stop ${n + 1} is at the handler's first step`);
      } else {
        assert.deepEqual(fast[n], slow[n], `filtered stop ${n + 1} (the guest was running) is identical`);
      }
    }
    assert.ok(halted > 0 && halted < fast.length, `both kinds of stop seen (${halted} of ${fast.length} woke a halted guest)`);
  });

  it('a kernel with ring-3 code and system calls stops alike on HLT and CPUID-free exits (minikernel.asm)', async () => {
    await sameStops(MINIKERNEL, {}, [{ filterId: 'vmm-trap' }, { filterId: 'interrupt-injection' }], 20);
  });
});
