// Tests for the cost model (presets, overrides) and the cost ledger.
import assert from 'node:assert/strict';
import { COST_PARAMETERS, COST_PRESETS, COST_PRESET_IDS, CostModel, resolveCostModel } from '../../../src/emulator/vmm/costModel';
import { CostLedger, INSTRUCTIONS_REASON } from '../../../src/emulator/vmm/costLedger';

describe('cost model presets', () => {
  it('give every parameter a non-negative cycle count with a basis and a source', () => {
    for (const id of COST_PRESET_IDS) {
      const values = COST_PRESETS[id].values;
      assert.deepEqual(Object.keys(values).sort(), [...COST_PARAMETERS].sort(), id);
      for (const parameter of COST_PARAMETERS) {
        const value = values[parameter];
        assert.ok(Number.isFinite(value.cycles) && value.cycles >= 0, `${id}.${parameter}`);
        assert.ok(value.source.length > 10, `${id}.${parameter} cites a source`);
      }
    }
  });

  it('p4-2006 uses the Adams & Agesen and Sugerman figures', () => {
    const p4 = COST_PRESETS['p4-2006'].values;
    assert.equal(p4.exceptionDelivery.cycles, 889);
    assert.equal(p4.pageFaultDelivery.cycles, 1093);
    assert.equal(p4.deviceAccess.cycles, 3209);
    assert.equal(p4.shadowPteWrite.cycles, 391);
    assert.equal(p4.emulationStep.cycles, 35);
    assert.equal(p4.btIndirectBranch.cycles, 51 - 11);
    assert.equal(p4.shadowPageFault.cycles, 3927 - 1093);
    assert.equal(p4.vmExit.cycles + p4.vmEntry.cycles, 2400);
    // A&A cr8wr: BT's 35 cycles are ≈ 4× faster than the native TPR write.
    assert.equal(p4.apicAccess.cycles, 4 * p4.emulationStep.cycles);
    assert.equal(p4.eptWalkReference.basis, 'nominal');
    // The hosted transmit path reproduces Sugerman's 22.7 µs at 733 MHz.
    const model = new CostModel('p4-2006');
    const hostedTransmit = model.pathCycles(['worldSwitch', 'hostSystemCall', 'hostSystemCall', 'hostSystemCall', 'deviceAccess', 'worldSwitch']);
    assert.equal(hostedTransmit, Math.round(22.7 * 733));
    // BT's per-syscall extra reproduces A&A's ~2,000.
    const btSyscallExtra = model.pathCycles(['vmmEntry', 'vmmExit', 'btCallout']) + 6 * model.cycles('emulationStep');
    assert.ok(Math.abs(btSyscallExtra - 2000) <= 20, `BT syscall extra ${btSyscallExtra}`);
    // BT `in` ≈ native / 15.
    assert.equal(model.cycles('btCallout') + model.cycles('emulationStep'), Math.round(3209 / 15));
  });

  it('modern exits are cheaper than P4 exits', () => {
    const p4 = new CostModel('p4-2006');
    const modern = new CostModel('modern');
    assert.ok(modern.pathCycles(['vmExit', 'vmEntry']) < p4.pathCycles(['vmExit', 'vmEntry']));
    assert.equal(modern.pathCycles(['vmExit', 'vmEntry']), 500);
  });
});

describe('cost overrides', () => {
  it('apply valid overrides on top of the preset', () => {
    const result = resolveCostModel('modern', { vmExit: 1200, worldSwitch: 8000 });
    assert.ok(result.ok);
    assert.equal(result.model.cycles('vmExit'), 1200);
    assert.equal(result.model.cycles('worldSwitch'), 8000);
    assert.equal(result.model.cycles('vmEntry'), 250);
    const described = result.model.describe().find((d) => d.parameter === 'vmExit')!;
    assert.equal(described.overridden, true);
    assert.deepEqual(JSON.parse(JSON.stringify(result.model)), { preset: 'modern', overrides: { vmExit: 1200, worldSwitch: 8000 } });
  });

  it('reject unknown names with a suggestion, and bad values, with clear messages', () => {
    const result = resolveCostModel('p4-2006', { vmExt: 5, worldSwitch: -1, hypercall: 'fast', emulationStep: Number.NaN });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.errors.length, 4);
    assert.match(result.errors[0]!, /unknown cost parameter 'vmExt' \(did you mean 'vmExit'\?\)/);
    assert.match(result.errors[1]!, /costOverrides.worldSwitch must be a number of cycles between 0 and/);
    assert.match(result.errors[2]!, /costOverrides.hypercall .* got "fast"/);
    assert.match(result.errors[3]!, /emulationStep/);
  });

  it('reject an unknown preset and a non-object overrides value', () => {
    const badPreset = resolveCostModel('pentium', {});
    assert.ok(!badPreset.ok && /costModel must be one of 'p4-2006', 'modern'/.test(badPreset.errors[0]!));
    const badOverrides = resolveCostModel('modern', [1, 2]);
    assert.ok(!badOverrides.ok && /costOverrides must be an object/.test(badOverrides.errors[0]!));
    assert.ok(resolveCostModel('modern', undefined).ok);
  });

  it('look up parameters named by handler steps, reporting unknown names', () => {
    const model = new CostModel('p4-2006');
    assert.deepEqual(model.cyclesOf('vmmEntry'), { cycles: 800 });
    assert.deepEqual(model.cyclesOf('toString'), { cycles: 0, problem: "unknown cost parameter 'toString'" });
  });
});

describe('CostLedger', () => {
  it('sums per layer and per reason, and the totals agree', () => {
    const ledger = new CostLedger();
    ledger.chargeInstructions('guest-kernel', 1000, 1);
    ledger.charge('vmm', '#GP: cli at CPL1', 800);
    ledger.charge('vmm', '#GP: cli at CPL1', 35);
    ledger.charge('vmm', 'hypercall 18 console_io', 889);
    ledger.charge('device', 'out 0x3f8', 100);
    assert.equal(ledger.total, 1000 + 800 + 35 + 889 + 100);
    assert.equal(ledger.cyclesIn('vmm'), 800 + 35 + 889);
    const byLayerSum = ledger.byLayer().reduce((sum, t) => sum + t.cycles, 0);
    const byReasonSum = ledger.byReason().reduce((sum, e) => sum + e.cycles, 0);
    assert.equal(byLayerSum, ledger.total);
    assert.equal(byReasonSum, ledger.total);
    assert.ok(Math.abs(ledger.byLayer().reduce((s, t) => s + t.share, 0) - 1) < 1e-12);
    const cli = ledger.byReason('vmm').find((e) => e.reason === '#GP: cli at CPL1')!;
    assert.deepEqual([cli.cycles, cli.events], [835, 2]);
    assert.equal(ledger.byReason()[0]!.reason, INSTRUCTIONS_REASON);
  });

  it('ignores invalid charges and round-trips through JSON', () => {
    const ledger = new CostLedger();
    assert.equal(ledger.charge('vmm', 'x', -5), false);
    assert.equal(ledger.charge('vmm', 'x', Number.POSITIVE_INFINITY), false);
    ledger.charge('vmm', 'x', 7, 2);
    ledger.charge('host-os-kernel', 'world switch VMM→host', 4465);
    const copy = CostLedger.fromJSON(JSON.parse(JSON.stringify(ledger)));
    assert.deepEqual(copy.toJSON(), ledger.toJSON());
    assert.equal(copy.total, 4472);
    copy.reset();
    assert.equal(copy.total, 0);
  });
});
