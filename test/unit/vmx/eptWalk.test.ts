// EPT in the CPU's MMU (issue 6, SDM Vol. 3C 29.3): the two-dimensional walk's memory references per TLB miss
// ((n+1)(m+1)-1: 14 for 2-level guest paging over 4-level EPT, 9 for a 4-MiB guest page, 4 without guest
// paging), TLB hits without references, the EPT violation qualification (Table 28-7: read/write/fetch bits
// 2:0, permissions 5:3, guest-linear valid 7, final translation 8) with the guest-physical address, and the
// EPT misconfigurations of 29.3.3.1. The MMU is driven directly with EPT switched on.

import { strict as assert } from 'node:assert';
import { EptWalker, VMX_MEMORY_EXIT } from '../../../src/emulator/cpu/ept';
import { CR } from '../../../src/emulator/cpu/stateLayout';
import { createMachine, write32, type TestMachine } from '../cpu/harness';
import { EPT, eptPteAddress, identityEpt, identityGuestPaging } from './eptKit';

const EPT_BASE = 0x100000;
const GUEST_PD = 0x50000;
const GUEST_PT = 0x51000;

function withEpt(permissions?: (gpa: number) => number): { m: TestMachine; ept: EptWalker } {
  const m = createMachine(4 << 20, true);
  const ept = new EptWalker(m.ram, m.cpu.fault);
  ept.setPointer(identityEpt(m.ram, EPT_BASE, 4 << 20, permissions));
  m.cpu.mmu.setEpt(ept);
  return { m, ept };
}

function enableGuestPaging(m: TestMachine, pse = false): void {
  identityGuestPaging(m.ram, GUEST_PD, GUEST_PT);
  const s = m.cpu.s;
  s[CR + 3] = GUEST_PD;
  s[CR + 4] = pse ? 0x10 : 0;
  s[CR] = 0x80000011; // PG | ET | PE
  m.cpu.mmu.flush(true);
}

/** Runs `access` expecting the EPT exit fault; returns the walker's pending exit. */
function expectExit(ept: EptWalker, m: TestMachine, access: () => unknown) {
  assert.throws(access, (e: unknown) => e === m.cpu.fault && m.cpu.fault.vector === VMX_MEMORY_EXIT);
  return { ...ept.pending };
}

describe('EPT: two-dimensional walk in the MMU', () => {
  it('2-level guest paging over 4-level EPT: 14 references per TLB miss, none on a hit', () => {
    const { m, ept } = withEpt();
    enableGuestPaging(m);
    assert.equal(m.cpu.mmu.translate(0x12345, false, false), 0x12345);
    assert.equal(ept.counters.lastMissReferences, 14);
    assert.deepEqual([ept.counters.tlbMisses, ept.counters.guestReferences, ept.counters.eptReferences], [1, 2, 12]);
    m.cpu.mmu.translate(0x12ffc, true, false); // same page: a TLB hit (D preset, writable)
    assert.equal(ept.counters.tlbMisses, 1);
    assert.equal(ept.counters.walkReferences, 14);
    m.cpu.mmu.translate(0x200000, false, false); // guest PT at GPA 0x51000 and data above 2 MiB (EPT 2-MiB page)
    assert.equal(ept.counters.lastMissReferences, 2 * 4 + 2 + 3); // 2-MiB EPT page: a 3-level EPT walk for the data
    assert.equal(ept.counters.maxMissReferences, 14);
  });

  it('a 4-MiB guest page (PSE) takes 9 references; guest paging off takes 4', () => {
    const big = withEpt();
    enableGuestPaging(big.m, true);
    write32(big.m.ram, GUEST_PD, 0x000000e7); // PDE: 4-MiB page at 0, P RW US A D PS
    big.m.cpu.mmu.flush(true);
    assert.equal(big.m.cpu.mmu.translate(0x3456, false, false), 0x3456);
    assert.equal(big.ept.counters.lastMissReferences, 9);
    const flat = withEpt();
    assert.equal(flat.m.cpu.mmu.translate(0x7008, true, true), 0x7008);
    assert.equal(flat.ept.counters.lastMissReferences, 4);
  });

  it('translates guest-physical to a different host-physical page', () => {
    const { m, ept } = withEpt();
    write32(m.ram, eptPteAddress(EPT_BASE, 0x9000), 0x3c000 | EPT.WB | EPT.RWX);
    m.cpu.mmu.flush(true);
    assert.equal(m.cpu.mmu.translate(0x9abc, false, false), 0x3cabc);
    assert.equal(m.cpu.mmu.peekTranslate(0x9abc), 0x3cabc);
    assert.equal(ept.counters.tlbMisses, 1, 'peekTranslate does not count');
  });

  it('violation on the final access: read/write/fetch bits, permissions, linear valid + final translation', () => {
    const { m, ept } = withEpt((gpa) => (gpa === 0x60000 ? EPT.R | EPT.X : gpa === 0x61000 ? EPT.R | EPT.W : gpa === 0x62000 ? 0 : EPT.RWX));
    enableGuestPaging(m);
    const write = expectExit(ept, m, () => m.cpu.mmu.translate(0x60010, true, false));
    assert.deepEqual(write, { reason: 48, qualification: 0x2 | (0x5 << 3) | 0x80 | 0x100, guestPhysical: 0x60010, guestLinear: 0x60010 });
    const fetch = expectExit(ept, m, () => m.cpu.mmu.translateFetch(0x61004, false));
    assert.deepEqual(fetch, { reason: 48, qualification: 0x4 | (0x3 << 3) | 0x80 | 0x100, guestPhysical: 0x61004, guestLinear: 0x61004 });
    const read = expectExit(ept, m, () => m.cpu.mmu.translate(0x62000, false, false));
    assert.deepEqual(read, { reason: 48, qualification: 0x1 | 0x80 | 0x100, guestPhysical: 0x62000, guestLinear: 0x62000 });
    assert.equal(ept.counters.eptViolations, 3);
    // A read of the read+execute page succeeds; its TLB entry still refuses writes (combined permissions).
    assert.equal(m.cpu.mmu.translate(0x60020, false, false), 0x60020);
    expectExit(ept, m, () => m.cpu.mmu.translate(0x60024, true, false));
  });

  it('violation on a guest paging-structure access: bit 8 clear, GPA of the guest PTE', () => {
    const { m, ept } = withEpt((gpa) => (gpa === GUEST_PT ? 0 : EPT.RWX));
    enableGuestPaging(m);
    const exit = expectExit(ept, m, () => m.cpu.mmu.translate(0x5000, false, false));
    assert.deepEqual(exit, { reason: 48, qualification: 0x1 | 0x80, guestPhysical: GUEST_PT + 4 * 5, guestLinear: 0x5000 });
  });

  it('misconfigurations: write without read, reserved memory type, bits above the physical-address width', () => {
    const cases: [string, number, number][] = [
      ['write-only', 0x9000 | EPT.WB | EPT.W, 0],
      ['memory type 2', 0x9000 | (2 << 3) | EPT.RWX, 0],
      ['physical address bit 32', 0x9000 | EPT.WB | EPT.RWX, 1],
    ];
    for (const [name, low, high] of cases) {
      const { m, ept } = withEpt();
      write32(m.ram, eptPteAddress(EPT_BASE, 0x9000), low);
      write32(m.ram, eptPteAddress(EPT_BASE, 0x9000) + 4, high);
      const exit = expectExit(ept, m, () => m.cpu.mmu.translate(0x9000, false, false));
      assert.deepEqual([exit.reason, exit.guestPhysical], [49, 0x9000], name);
      assert.equal(ept.counters.eptMisconfigurations, 1, name);
    }
  });

  it('guest paging off: the compiled fast path sees only identity-mapped writable RAM pages the TLB holds', () => {
    const { m } = withEpt((gpa) => (gpa === 0x9000 ? EPT.R | EPT.X : EPT.RWX));
    write32(m.ram, eptPteAddress(EPT_BASE, 0xa000), 0x3c000 | EPT.WB | EPT.RWX); // not identity
    m.cpu.mmu.flush(true);
    const mmu = m.cpu.mmu;
    assert.equal(mmu.fast.pageKind[0x8], 0, 'nothing before the first walk');
    for (const gpa of [0x8000, 0x9000, 0xa000]) mmu.translate(gpa, false, false);
    assert.deepEqual([mmu.fast.pageKind[0x8], mmu.fast.pageKind[0x9], mmu.fast.pageKind[0xa]], [1, 0, 0], 'identity RW only');
    mmu.invalidatePage(0x8000);
    assert.equal(mmu.fast.pageKind[0x8], 0, 'INVLPG drops it with the TLB entry');
    mmu.translate(0x8000, false, false);
    mmu.flush(false);
    assert.equal(mmu.fast.pageKind[0x8], 0, 'a flush drops it');
    mmu.setEpt(null);
    assert.equal(mmu.fast.pageKind[0x8], 1, 'without EPT the fast view is the RAM classification again');
  });

  it('without EPT the MMU translates as before (no counters move)', () => {
    const m = createMachine(4 << 20, true);
    const ept = new EptWalker(m.ram, m.cpu.fault);
    ept.setPointer(identityEpt(m.ram, EPT_BASE, 4 << 20, () => 0)); // would fault on every access
    m.cpu.mmu.setEpt(ept);
    m.cpu.mmu.setEpt(null);
    enableGuestPaging(m);
    assert.equal(m.cpu.mmu.translate(0x12345, false, false), 0x12345);
    assert.equal(ept.counters.tlbMisses, 0);
  });
});
