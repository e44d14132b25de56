// The adaptive pause before re-assembly: short for documents that assemble fast, bounded for huge ones;
// and the scheduler runs one publish per burst of edits, remembering what the last assembly cost.
import { strict as assert } from 'node:assert';
import { debounceDelay, DiagnosticsScheduler, MAX_DELAY_MS, MIN_DELAY_MS } from '../../../src/language-server/diagnosticsScheduler';

describe('language server: diagnostics scheduling', () => {
  it('waits twice the last assembly time, within bounds', () => {
    assert.equal(debounceDelay(undefined), MIN_DELAY_MS);
    assert.equal(debounceDelay(2), MIN_DELAY_MS);
    assert.equal(debounceDelay(30), 60);
    assert.equal(debounceDelay(500), MAX_DELAY_MS);
  });

  it('publishes once per burst of edits (fixed delay)', async () => {
    const published: string[] = [];
    const scheduler = new DiagnosticsScheduler((uri) => (published.push(uri), 1), 5);
    for (let i = 0; i < 5; i++) scheduler.schedule('file:///a.asm');
    scheduler.schedule('file:///b.asm');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(published.sort(), ['file:///a.asm', 'file:///b.asm']);
    scheduler.schedule('file:///a.asm');
    scheduler.forget('file:///a.asm');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(published.length, 2, 'a forgotten document is not published');
    scheduler.dispose();
  });
});
