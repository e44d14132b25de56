// The `native` technique: no VMM, the reference every other technique is compared to. The guest kernel runs at
// CPL 0 on the machine; this engine only drives the machine and accounts guest instructions and native events
// (exception/interrupt deliveries, off-chip port accesses are not intercepted, so they are not itemised) in the
// same ledger the virtualized engines use, so summaries can be compared side by side.

import { CPL } from '../../cpu/stateLayout';
import { Ia32CpuAdapter } from '../../machine/cpuAdapter';
import type { Machine } from '../../machine/machine';
import { CostLedger } from '../costLedger';
import type { CostModel } from '../costModel';
import type { EngineState, EngineStop, ExecutionEngine } from '../engine';
import type { ExitCount } from '../exitDispatcher';
import { guestLayerAtCpl, type Technique } from '../layers';
import { LayerStack } from '../layerStack';
import { TransitionLog } from '../transitions';

export class NativeEngine implements ExecutionEngine {
  readonly technique: Technique = 'native';
  readonly log = new TransitionLog();
  readonly ledger = new CostLedger();
  readonly stack = new LayerStack('guest-kernel');

  constructor(private readonly machine: Machine, private readonly costModel: CostModel) {
    if (!(machine.cpu instanceof Ia32CpuAdapter)) throw new TypeError('the native engine needs the IA-32 core (createPcMachine)');
  }

  attach(): EngineStop | undefined {
    return undefined;
  }

  run(budget: number): EngineStop {
    const core = (this.machine.cpu as Ia32CpuAdapter).core;
    const layer = guestLayerAtCpl(core.s[CPL]!);
    const before = core.retired;
    const stop = this.machine.run(budget);
    this.ledger.chargeInstructions(layer, core.retired - before, this.costModel.cycles('instruction'));
    switch (stop.reason) {
      case 'budget':
        return { kind: 'budget' };
      case 'guest-exit':
        return { kind: 'guest-exit', status: stop.exitStatus ?? 0 };
      case 'shutdown':
        return { kind: 'shutdown', reason: stop.detail };
      case 'halt':
        return { kind: 'halt' };
      default:
        return { kind: 'stop', message: stop.detail };
    }
  }

  step(): EngineStop {
    const stop = this.run(1);
    return stop.kind === 'budget' ? { kind: 'step-done' } : stop;
  }

  activeHandler(): undefined {
    return undefined;
  }

  virtualCpu(): undefined {
    return undefined;
  }

  exitCounts(): readonly ExitCount[] {
    return [];
  }

  saveState(): EngineState {
    return { technique: 'native', stack: this.stack.toJSON() };
  }

  loadState(): void {}
}
