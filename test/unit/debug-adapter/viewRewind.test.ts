// SPDX-License-Identifier: MIT
// The VMM activity after reverse debugging (issue 8): the histogram counts what the machine has executed up to
// where it stands now, not every transition ever recorded. TransitionLog.rewind drops what a travel back undoes
// (the replay records it again under the same numbers), and the views' tracker takes those counts back. Unit
// checks of the log, then a DebugClient run of the POPF lesson under trap-and-emulate: forward, reverse-continue
// to an earlier breakpoint, forward again.
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { TransitionLog, type TransitionInput } from '../../../src/emulator/vmm/transitions';
import type { ActivityResponseBody } from '../../../src/debug-adapter/viewProtocol';
import { launchStopped, startHarness } from './harness';

const POPF = join(__dirname, '..', '..', '..', 'samples', 'vmm', 'popf-demo.asm');

const input = (reason: string): TransitionInput => ({ cycle: 0, from: 'guest-kernel', to: 'vmm', kind: 'trap', reason, details: {}, cost: 1 });

describe('TransitionLog.rewind', () => {
  it('drops the later records, renumbers from the rewound total and tells its listeners', () => {
    const log = new TransitionLog(8);
    const heard: number[] = [];
    log.onRewind((total) => heard.push(total));
    for (let i = 0; i < 5; i++) log.record(input(`t${i}`));
    log.rewind(3);
    assert.equal(log.total, 3);
    assert.deepEqual(log.list().map((t) => t.reason), ['t0', 't1', 't2']);
    assert.equal(log.get(3), undefined);
    assert.equal(log.record(input('again')).seq, 3);
    assert.deepEqual(heard, [3]);
    assert.throws(() => log.rewind(5), RangeError);
  });

  it('never hands out a slot that a dropped record overwrote (rewinding further than the ring holds)', () => {
    const log = new TransitionLog(4);
    for (let i = 0; i < 10; i++) log.record(input(`t${i}`)); // holds t6..t9
    log.rewind(7); // t6 survives; t3..t5 were overwritten long ago
    assert.equal(log.firstRetained, 6);
    assert.deepEqual(log.list().map((t) => t.reason), ['t6']);
    assert.equal(log.get(5), undefined);
    log.rewind(5); // nothing recorded before 5 is still held
    assert.deepEqual(log.list(), []);
    assert.equal(log.get(4), undefined);
    for (let i = 0; i < 6; i++) log.record(input(`n${i}`));
    assert.deepEqual(log.list().map((t) => `${t.seq}:${t.reason}`), ['7:n2', '8:n3', '9:n4', '10:n5']);
  });
});

const lineOfText = (text: string, needle: string, from = 0): number => text.split('\n').findIndex((l, i) => i >= from && l.trim() === needle) + 1;

async function runTo(c: DebugClient, line: number, how: 'continue' | 'reverseContinue'): Promise<DebugProtocol.StoppedEvent> {
  await c.setBreakpointsRequest({ source: { path: POPF }, breakpoints: [{ line }] });
  const stopped = c.waitForEvent('stopped', 30_000);
  if (how === 'continue') await c.continueRequest({ threadId: 1 });
  else await c.send('reverseContinue', { threadId: 1 });
  return (await stopped) as DebugProtocol.StoppedEvent;
}

async function activity(c: DebugClient): Promise<{ histogram: string[]; seqs: number[]; total: number }> {
  const body = (await c.customRequest('hyperstep.activity', { max: 65536 })).body as ActivityResponseBody;
  return {
    histogram: body.histogram.map((h) => `${h.kind} ${h.reason}: ${h.count}`).sort(),
    seqs: body.events.map((e) => e.seq),
    total: body.histogram.reduce((s, h) => s + h.count, 0),
  };
}

describe('debug adapter: VMM activity after reverse debugging', function () {
  this.timeout(120_000);

  it('after reverse-continue under trap-and-emulate the histogram is the one of that position, and forward again adds nothing twice', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(POPF, 'utf8');
    const afterCli = lineOfText(text, 'pushfd', lineOfText(text, 'cli')); // first pushfd after the lesson's cli
    const afterPopf = lineOfText(text, 'mov esi, msg_after_popf');
    assert.ok(afterCli > 0 && afterPopf > afterCli, 'popf-demo.asm lines not found');
    const h = await startHarness();
    try {
      const c = h.client;
      await launchStopped(c, { program: POPF, technique: 'trap-and-emulate', defines: { __OUTPUT_FORMAT__: 'bin' } });
      assert.equal((await runTo(c, afterCli, 'continue')).body.reason, 'breakpoint');
      const atCli = await activity(c);
      assert.ok(atCli.histogram.some((r) => /^trap #GP: cli at CPL1: 1$/.test(r)), atCli.histogram.join('\n'));
      assert.equal((await runTo(c, afterPopf, 'continue')).body.reason, 'breakpoint');
      const atPopf = await activity(c);
      assert.ok(atPopf.total > atCli.total, 'the POPF part of the lesson made no transitions');
      const back = await runTo(c, afterCli, 'reverseContinue');
      assert.match(back.body.description ?? '', /^Paused \(reverse\)/);
      // Exactly the picture of the first stop there: same counts, same transitions by number.
      assert.deepEqual(await activity(c), atCli);
      assert.equal((await runTo(c, afterPopf, 'continue')).body.reason, 'breakpoint');
      assert.deepEqual(await activity(c), atPopf);
    } finally {
      await h.close();
    }
  });
});
