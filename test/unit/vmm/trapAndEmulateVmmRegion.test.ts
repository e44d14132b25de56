// The VMM region at the top of RAM and its page allocator (trapAndEmulate/vmmRegion.ts): the default size keeps
// the historic 64 KiB layout, a larger region moves the base down, pages come zeroed, are reused after free,
// and running out is reported as undefined, never a throw.
import assert from 'node:assert/strict';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { VMM_REGION_SIZE } from '../../../src/emulator/vmm/trapAndEmulate/shadowTables';
import { VMM_FIXED_AREA_SIZE, VmmRegion, vmmRegionSizeProblem } from '../../../src/emulator/vmm/trapAndEmulate/vmmRegion';

describe('trap-and-emulate VMM region and page allocator', () => {
  it('defaults to the 64 KiB region at the top of RAM', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    assert.equal(VMM_REGION_SIZE, 0x10000);
    assert.equal(engine.vmmBase, 8 * 1024 * 1024 - 0x10000);
    assert.equal(engine.vmmRegion.capacityPages, (0x10000 - VMM_FIXED_AREA_SIZE) / 0x1000);
  });

  it('a larger region (option) moves the VMM base down and offers more pages', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006'), vmmRegionSize: 0x40000 });
    assert.equal(engine.vmmBase, 8 * 1024 * 1024 - 0x40000);
    assert.equal(engine.vmmRegion.capacityPages, (0x40000 - VMM_FIXED_AREA_SIZE) / 0x1000);
  });

  it('hands out zeroed pages above the fixed area, reuses freed ones and reports exhaustion', () => {
    const ram = new Uint8Array(1 << 20).fill(0xcc);
    const region = new VmmRegion(ram, 0xa000);
    const first = region.allocatePage();
    const second = region.allocatePage();
    assert.equal(first, (1 << 20) - 0xa000 + VMM_FIXED_AREA_SIZE);
    assert.equal(second, first! + 0x1000);
    assert.ok(ram.subarray(first!, first! + 0x1000).every((b) => b === 0));
    assert.equal(region.allocatePage(), undefined);
    assert.equal(region.pagesInUse, 2);
    region.freePage(first!);
    assert.equal(region.pagesFree, 1);
    assert.equal(region.allocatePage(), first);
    assert.ok(region.contains(first!) && !region.contains(region.base - 1));
    assert.deepEqual(region.allocatedPages(), [first, second]);
  });

  it('rejects sizes that are not whole pages, too small or more than half of RAM', () => {
    assert.match(vmmRegionSizeProblem(0x10001, 1 << 24) ?? '', /4 KiB pages/);
    assert.match(vmmRegionSizeProblem(0x4000, 1 << 24) ?? '', /at least/);
    assert.match(vmmRegionSizeProblem(1 << 23, 1 << 23) ?? '', /half/);
    assert.equal(vmmRegionSizeProblem(0x10000, 1 << 23), undefined);
  });
});
