// SPDX-License-Identifier: MIT
// Stepping inside a VMM handler (issue 7, "Stepping"): while the engine is in the middle of a handler
// (ExecutionEngine.activeHandler, src/emulator/vmm/handlerSteps.ts), step in and step over run exactly one of
// its named steps — the VMM frame's line moves to the next step — and step out runs the remaining steps, so
// the stop is back in the guest, where the handler resumed it (or in the guest handler it reflected to).
import { MAX_STEPS_PER_HANDLER } from '../emulator/vmm/handlerSteps';
import type { DebugRuntime } from './runtime';
import type { Job, JobResult, StepKind } from './stepping';

export class HandlerStepJob implements Job {
  constructor(private readonly runtime: DebugRuntime, private readonly kind: StepKind) {}

  slice(): JobResult | undefined {
    const rt = this.runtime;
    for (let n = 0; n <= MAX_STEPS_PER_HANDLER; n++) {
      const before = rt.activeHandler();
      if (before === undefined) return this.backInGuest('the VMM handler');
      const ran = before.stepNames[before.nextStep] ?? 'finish';
      const stop = rt.engineStep();
      if (stop.reason !== 'budget' && stop.reason !== 'breakpoint') {
        const result = rt.interpretMachineStop(stop);
        if (result !== undefined) return result;
      }
      const after = rt.activeHandler();
      if (after === undefined || after.handler !== before.handler) return this.backInGuest(`"${before.handler}"`);
      if (this.kind !== 'out') {
        const next = after.stepNames[after.nextStep];
        return { kind: 'stop', stop: { reason: 'step', description: `VMM step "${ran}" done${next === undefined ? '' : `; next: "${next}"`} (${after.handler})` } };
      }
    }
    return { kind: 'stop', stop: { reason: 'step', description: `Step out: the VMM handler did not finish within ${MAX_STEPS_PER_HANDLER} steps` } };
  }

  private backInGuest(what: string): JobResult {
    const rt = this.runtime;
    rt.tracker.reconcile(rt.stackTop());
    const again = rt.activeHandler();
    const where = again === undefined ? `the guest continues at ${rt.describeAddress(rt.pc())}` : `the VMM went on with "${again.handler}"`;
    return { kind: 'stop', stop: { reason: 'step', description: `${this.kind === 'out' ? 'Step out' : 'Step'}: ${what} finished; ${where}` } };
  }
}
