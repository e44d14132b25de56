// Unit tests of the direct-paging validator (src/emulator/vmm/memory/directPaging.ts) on plain RAM: page-type
// reference counts (a page table stops being one when no pinned directory references it, and may then be
// mapped writable again), writable-mapping counts (a page mapped writable cannot become a page table), the
// VMM's directory slot, and refusals that leave memory unchanged.
import assert from 'node:assert/strict';
import { DirectPaging } from '../../../src/emulator/vmm/memory/directPaging';

const RAM = 8 * 1024 * 1024;
const VMM_BASE = RAM - 0x10000;
const PD = 0x10; // frame numbers
const PD2 = 0x11;
const PT = 0x20;
const PT2 = 0x21;
const DATA = 0x30;

function setup() {
  const ram = new Uint8Array(RAM);
  const view = new DataView(ram.buffer);
  const memory = {
    read32: (a: number) => (a >= 0 && a + 4 <= RAM ? view.getUint32(a, true) : undefined),
    write32: (a: number, v: number) => view.setUint32(a, v >>> 0, true),
  };
  const paging = new DirectPaging(memory, { ramBytes: RAM, vmmBase: VMM_BASE, vmmSize: 0x10000, vmmTableAddresses: [VMM_BASE + 0xf000] });
  const entry = (frame: number, index: number) => (frame << 12) + index * 4;
  return { memory, paging, entry };
}

describe('direct paging validator', () => {
  it('installs the VMM slot in a pinned directory and maps only the VMM region there', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    assert.deepEqual(paging.pinDirectory(PD), { ok: true, newTables: true });
    assert.equal(paging.firstVmmSlot, 1);
    assert.equal(paging.hypervisorVirtStart, 0x400000);
    assert.equal(memory.read32(entry(PD, 1)), ((VMM_BASE + 0xf000) | 0x63) >>> 0);
    assert.equal(memory.read32(VMM_BASE + 0xf000 + ((VMM_BASE >>> 12) & 0x3ff) * 4), (VMM_BASE | 0x63) >>> 0);
    assert.equal(memory.read32(VMM_BASE + 0xf000), 0, 'nothing else of the slot is mapped');
    assert.ok(paging.isDirectory(PD) && paging.isPageTable(PT));
  });

  it('refuses a directory whose own page tables map a page table writable, and changes nothing', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    memory.write32(entry(PT, 5), (PT << 12) | 3); // the table maps itself writable
    const result = paging.pinDirectory(PD);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.error === 'EPERM' && /writable/.test(result.problem));
    assert.ok(!paging.isDirectory(PD) && !paging.isPageTable(PT));
    assert.equal(memory.read32(entry(PD, 1)), 0, 'no VMM slot written');
    memory.write32(entry(PT, 5), (PT << 12) | 1); // read-only is fine
    assert.equal(paging.pinDirectory(PD).ok, true);
  });

  it('a page mapped writable cannot become a page table until the mapping goes', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    memory.write32(entry(PT, 0), (DATA << 12) | 3);
    assert.equal(paging.pinDirectory(PD).ok, true);
    const refused = paging.updateEntry(entry(PD, 2), (DATA << 12) | 3); // DATA as a new page table
    assert.ok(!refused.ok && /still mapped writable/.test(refused.problem));
    assert.equal(paging.updateEntry(entry(PT, 0), (DATA << 12) | 1).ok, true); // downgrade the mapping
    assert.deepEqual(paging.updateEntry(entry(PD, 2), (DATA << 12) | 3), { ok: true, newTables: true });
    assert.ok(paging.isPageTable(DATA));
  });

  it('releases page tables with the last reference: unpin, then the frame may be mapped writable', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    memory.write32(entry(PD2, 0), (PT << 12) | 3); // PT shared by both address spaces
    memory.write32(entry(PD2, 3), (PT2 << 12) | 3);
    assert.equal(paging.pinDirectory(PD).ok, true);
    assert.equal(paging.pinDirectory(PD2).ok, true);
    assert.equal(paging.unpinDirectory(PD2, PD2).ok, false, 'not the current directory');
    assert.equal(paging.unpinDirectory(PD2, PD).ok, true);
    assert.ok(paging.isPageTable(PT), 'still referenced by PD');
    assert.ok(!paging.isPageTable(PT2) && !paging.isDirectory(PD2));
    assert.equal(memory.read32(entry(PD2, 1)), 0, 'the VMM slot is taken back');
    assert.equal(paging.updateEntry(entry(PT, 7), (PT2 << 12) | 3).ok, true, 'PT2 is an ordinary page again');
    assert.equal(paging.updateEntry(entry(PT, 8), (PD2 << 12) | 3).ok, true);
    assert.equal(paging.counters.tablesReleased, 2);
  });

  it('refuses VMM frames, the VMM slot, 4 MiB pages, linear page tables and plain memory', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    assert.equal(paging.pinDirectory(PD).ok, true);
    const cases: [number, number, 'EPERM' | 'EINVAL', RegExp][] = [
      [entry(PT, 1), (VMM_BASE | 1) >>> 0, 'EPERM', /VMM memory/],
      [entry(PD, 1), (PT2 << 12) | 3, 'EPERM', /reserved for the VMM/],
      [entry(PD, 2), 0x00800083, 'EINVAL', /4 MiB/],
      [entry(PD, 3), (PD << 12) | 3, 'EINVAL', /linear page tables/],
      [entry(DATA, 0), 3, 'EINVAL', /not in a validated/],
      [entry(PT, 1) | 1, 3, 'EINVAL', /MMU_NORMAL_PT_UPDATE/],
      [entry(PT, 2), (PD << 12) | 3, 'EPERM', /writable/],
    ];
    for (const [pointer, value, error, why] of cases) {
      const before = memory.read32(pointer & ~3);
      const result = paging.updateEntry(pointer, value);
      assert.ok(!result.ok, `${pointer.toString(16)} <- ${value.toString(16)}`);
      assert.equal(result.error, error);
      assert.match(result.problem, why);
      assert.equal(memory.read32(pointer & ~3), before, 'unchanged');
    }
    assert.equal(paging.counters.rejectedUpdates, cases.length);
  });

  it('round-trips its state through JSON', () => {
    const { memory, paging, entry } = setup();
    memory.write32(entry(PD, 0), (PT << 12) | 3);
    memory.write32(entry(PT, 0), (DATA << 12) | 3);
    paging.pinDirectory(PD);
    const copy = setup().paging;
    copy.restore(JSON.parse(JSON.stringify(paging.toJSON())));
    assert.deepEqual(copy.toJSON(), paging.toJSON());
    assert.ok(copy.isDirectory(PD) && copy.isPageTable(PT));
  });

  it('maps a VMM region that straddles two directory slots with one VMM page table per slot', () => {
    const ram = new Uint8Array(RAM);
    const view = new DataView(ram.buffer);
    const memory = { read32: (a: number) => view.getUint32(a, true), write32: (a: number, v: number) => view.setUint32(a, v >>> 0, true) };
    const base = 0x400000 - 0x2000; // 8 KiB below the 4 MiB line, 16 KiB long
    assert.equal(DirectPaging.vmmSlotCount(base, 0x4000), 2);
    const tables = [0x200000, 0x201000];
    const paging = new DirectPaging(memory, { ramBytes: RAM, vmmBase: base, vmmSize: 0x4000, vmmTableAddresses: tables });
    assert.equal(paging.pinDirectory(PD).ok, true);
    assert.equal(memory.read32((PD << 12) + 0 * 4), (tables[0]! | 0x63) >>> 0);
    assert.equal(memory.read32((PD << 12) + 1 * 4), (tables[1]! | 0x63) >>> 0);
    assert.equal(memory.read32(tables[0]! + 0x3fe * 4), (base | 0x63) >>> 0);
    assert.equal(memory.read32(tables[1]! + 1 * 4), (0x401000 | 0x63) >>> 0);
    assert.equal(paging.hypervisorVirtStart, 0);
  });
});
