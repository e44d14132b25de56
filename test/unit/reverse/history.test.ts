// SPDX-License-Identifier: MIT
// The machine-level execution history on real assembled guests: travelling back to instruction K gives the
// exact machine the forward run had at K (state hash, serial counter, virtual time), across timer
// interrupts and fault handlers; the memory budget evicts the oldest checkpoints; page deltas are far
// smaller than full RAM copies; tracked writes and a full page comparison record the same history.
import assert from 'node:assert/strict';
import { ExecutionHistory } from '../../../src/emulator/debug/history';
import { compareAllPages } from '../../../src/emulator/debug/pageWrites';
import type { Machine } from '../../../src/emulator/machine/machine';
import { bootGuest, FAULT_GUEST, PIT_GUEST } from './guests';

const CHUNK = 997; // forward runs in odd-sized chunks, unaligned with the checkpoint interval

/** Runs forward recording like the debugger does; returns the hash seen when first passing each sample. */
function recordForward(machine: Machine, history: ExecutionHistory, samples: readonly number[], end: number): Map<number, { hash: string; serial: number; now: number }> {
  const seen = new Map<number, { hash: string; serial: number; now: number }>();
  const pending = [...samples].sort((a, b) => a - b);
  while (machine.cpu.retired() < end) {
    const next = pending[0] ?? end;
    const stop = machine.run(Math.min(CHUNK, next - machine.cpu.retired(), end - machine.cpu.retired()));
    assert.equal(stop.reason, 'budget', `the guest stopped early: ${stop.detail}`);
    history.maybeCheckpoint();
    if (machine.cpu.retired() === next && pending.length > 0) {
      pending.shift();
      seen.set(next, { hash: machine.stateHash(), serial: machine.serialByteCount, now: machine.now() });
    }
  }
  return seen;
}

/** IRQ0 handlers run so far: each prints one '.' on COM1 (see pit.asm). */
function ticks(machine: Machine): number {
  return machine.serialByteCount;
}

describe('execution history (reverse debugging, machine level)', function () {
  this.timeout(60000);

  it('travels back to any recorded instruction count with the exact state hash (PIT interrupts, page deltas)', () => {
    const machine = bootGuest(PIT_GUEST);
    const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, interval: 20_000 });
    history.checkpoint();
    const samples = [1, 777, 19_999, 20_000, 20_001, 123_457, 300_001, 499_999];
    const seen = recordForward(machine, history, samples, 500_000);
    assert.ok(ticks(machine) > 5, `the PIT must have interrupted the loop several times (serial dots: ${ticks(machine)})`);
    assert.ok(history.stats().checkpoints >= 20, `checkpoints: ${history.stats().checkpoints}`);
    const finalHash = machine.stateHash();
    // Newest first (each travel discards the future), then forward again to re-check a discarded future.
    for (const k of [...samples].sort((a, b) => b - a)) {
      const result = history.travelTo(k);
      assert.deepEqual(result, { ok: true, count: k });
      assert.equal(machine.stateHash(), seen.get(k)!.hash, `state at instruction ${k}`);
      assert.equal(machine.serialByteCount, seen.get(k)!.serial, `serial counter at ${k}`);
      assert.equal(machine.now(), seen.get(k)!.now, `virtual time at ${k}`);
    }
    // From instruction 1, running forward again re-records the same future.
    recordForward(machine, history, [], 500_000);
    assert.equal(machine.stateHash(), finalHash);
    assert.deepEqual(history.travelTo(300_001), { ok: true, count: 300_001 });
    assert.equal(machine.stateHash(), seen.get(300_001)!.hash);
  });

  it('travels back across a fault handler (#UD reflected through the IDT) exactly', () => {
    const machine = bootGuest(FAULT_GUEST);
    const history = new ExecutionHistory(machine, { budgetBytes: 8 << 20, interval: 50 });
    history.checkpoint();
    const samples = Array.from({ length: 16 }, (_, i) => 20 + i * 19);
    const seen = recordForward(machine, history, samples, 320);
    for (const k of [...samples].reverse()) {
      assert.deepEqual(history.travelTo(k), { ok: true, count: k });
      assert.equal(machine.stateHash(), seen.get(k)!.hash, `state at instruction ${k}`);
    }
  });

  it('stores page deltas far smaller than full RAM copies, and the same history as comparing every page', () => {
    const tracked = bootGuest(PIT_GUEST);
    const compared = bootGuest(PIT_GUEST);
    const a = new ExecutionHistory(tracked, { budgetBytes: 64 << 20, interval: 10_000 });
    const b = new ExecutionHistory(compared, { budgetBytes: 64 << 20, interval: 10_000, writes: compareAllPages });
    a.checkpoint();
    b.checkpoint();
    recordForward(tracked, a, [], 200_000);
    recordForward(compared, b, [], 200_000);
    const stats = a.stats();
    assert.deepEqual({ ...b.stats() }, { ...stats }, 'tracked writes and full comparison keep the same page versions');
    assert.ok(stats.checkpoints >= 15, `checkpoints: ${stats.checkpoints}`);
    // Each checkpoint stores the few pages the fill loop and the stack touched, not 4 MiB of RAM.
    assert.ok(stats.bytes * 50 < stats.fullCopyBytes, `history ${stats.bytes} B vs full copies ${stats.fullCopyBytes} B`);
    assert.ok(stats.pageVersions < stats.checkpoints * 8 + 16, `page versions: ${stats.pageVersions}`);
  });

  it('drops the oldest checkpoints beyond the memory budget and still travels exactly within what is kept', () => {
    const machine = bootGuest(PIT_GUEST);
    const budget = 96 * 1024;
    const history = new ExecutionHistory(machine, { budgetBytes: budget, interval: 10_000 });
    history.checkpoint();
    const seen = recordForward(machine, history, [280_001, 295_001], 300_000);
    const stats = history.stats();
    assert.ok(stats.bytes <= budget, `history ${stats.bytes} B over the ${budget} B budget`);
    assert.ok(stats.oldest > 0, 'the boot checkpoint was evicted');
    assert.ok(stats.checkpoints >= 2);
    const tooOld = history.travelTo(stats.oldest - 1);
    assert.equal(tooOld.ok, false);
    assert.match(tooOld.ok ? '' : tooOld.error, /before the recorded history/);
    assert.equal(machine.cpu.retired(), 300_000, 'a refused travel leaves the machine where it was');
    assert.ok(stats.oldest <= 280_001, `oldest ${stats.oldest}`);
    assert.deepEqual(history.travelTo(280_001), { ok: true, count: 280_001 });
    assert.equal(machine.stateHash(), seen.get(280_001)!.hash);
    // Shrinking the budget evicts down to the newest checkpoint, which always stays.
    history.setBudget(0);
    assert.equal(history.stats().checkpoints, 1);
  });
});
