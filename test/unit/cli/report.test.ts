// The pure parts of `hyperstep run --technique …`: splitting the VMM options from run.ts's own, the one-line
// trace format and the cost summary over a hand-built ledger (src/cli/vmmOptions.ts, src/cli/report.ts).
import assert from 'node:assert/strict';
import { formatCostSummary, formatTransition, guestInstructionCycles } from '../../../src/cli/report';
import { splitVmmArguments } from '../../../src/cli/vmmOptions';
import { CostLedger } from '../../../src/emulator/vmm/costLedger';

describe('hyperstep run: VMM options and report formatting', () => {
  it('leaves run.ts its own arguments and takes --flag value and --flag=value forms', () => {
    const plain = splitVmmArguments(['k.asm', '-I', 'inc', '--memory', '16']);
    assert.equal(plain.wantsVmm, false);
    assert.deepEqual(plain.rest, ['k.asm', '-I', 'inc', '--memory', '16']);
    const vmm = splitVmmArguments(['--technique=paravirtual', 'k.asm', '--architecture', 'hosted', '--cost', 'worldSwitch=9000', '--cost=vmExit=1', '--trace', '-I', 'inc']);
    assert.deepEqual(vmm.errors, []);
    assert.deepEqual(vmm.rest, ['k.asm', '-I', 'inc']);
    assert.equal(vmm.options?.technique, 'paravirtual');
    assert.equal(vmm.options?.architecture, 'hosted');
    assert.deepEqual(vmm.options?.costOverrides, { worldSwitch: 9000, vmExit: 1 });
    assert.equal(vmm.options?.costModel.cycles('worldSwitch'), 9000);
    assert.equal(vmm.options?.trace, true);
    assert.equal(vmm.options?.json, false);
    const defaults = splitVmmArguments(['k.asm', '--json']);
    assert.equal(defaults.options?.technique, 'native');
    assert.equal(defaults.options?.architecture, 'monolithic');
    assert.equal(defaults.options?.costModelName, 'p4-2006');
  });

  it('reports every bad option at once', () => {
    const bad = splitVmmArguments(['--technique', 'x', '--architecture', 'y', '--cost', 'nope']);
    assert.equal(bad.options, undefined);
    assert.equal(bad.errors.length, 3);
  });

  it('formats a transition as from → to, kind, reason, guest instruction and cost', () => {
    const line = formatTransition({
      seq: 41, cycle: 1000, from: 'guest-kernel', to: 'vmm', kind: 'trap', reason: '#GP: out dx, al at CPL1',
      instruction: { address: 0x100a3c, bytes: [0xee], text: 'out dx, al' }, details: {}, cost: 1500,
    });
    assert.equal(line, '#41 guest kernel → VMM  trap  #GP: out dx, al at CPL1  [0x00100a3c out dx, al]  1,500 cycles');
  });

  it('summarises cycles per layer of the architecture and the top reasons with transition counts', () => {
    const ledger = new CostLedger();
    ledger.chargeInstructions('guest-kernel', 1000, 1);
    ledger.charge('vmm', '#GP: out dx, al at CPL1', 600);
    ledger.charge('vmm', '#GP: out dx, al at CPL1', 400); // a second handler step of the same trap
    ledger.charge('host-os-kernel', 'world switch VMM→host', 3000);
    const text = formatCostSummary(ledger, {
      technique: 'trap-and-emulate', architecture: 'hosted', costModel: 'p4-2006', instructions: 1000, transitions: 3,
      transitionsByReason: new Map([['#GP: out dx, al at CPL1', 1], ['world switch VMM→host', 1]]),
    });
    assert.match(text, /5,000 cycles, 1,000 guest instructions, 3 transitions/);
    assert.match(text, /^ {2}host OS kernel +3,000 +60\.0%$/m);
    assert.match(text, /^ {2}host user process +0 +0\.0%$/m, 'the architecture\'s layers appear even when idle');
    assert.doesNotMatch(text, /management OS/);
    assert.match(text, /^ {2}VMM +#GP: out dx, al at CPL1 +1 × +1,000 +20\.0%$/m, 'counted as one trap, not two steps');
    assert.match(text, /^ {2}guest kernel +guest instructions +1,000 × +1,000 +20\.0%$/m);
    assert.equal(guestInstructionCycles(ledger), 1000);
    assert.match(text, /traps, VMM and I\/O path: 4,000 cycles \(80\.0% of the run, 5\.0× the guest's own work\)/);
  });
});
