// SPDX-License-Identifier: MIT
// Stepping inside a VMM handler (issue 7, "Stepping"): while the engine is in the middle of a handler
// (ExecutionEngine.activeHandler, src/emulator/vmm/handlerSteps.ts), step in and step over run exactly one of
// its named steps — the VMM frame's line moves to the next step — and step out runs the remaining steps, so
// the stop is back in the guest, where the handler resumed it (or in the guest handler it reflected to). A
// step that hands an I/O request to the hop handlers of the architecture (management OS, host OS kernel, host
// user process, src/emulator/vmm/io/) leads into them: their steps are walked the same way, each in its own
// layer's frame, and step out finishes the whole request and the VMM handler.
import { MAX_STEPS_PER_HANDLER, rootHandler, type HandlerExecutionState } from '../emulator/vmm/handlerSteps';
import { LAYER_INFO } from '../emulator/vmm/layers';
import type { DebugRuntime } from './runtime';
import type { Job, JobResult, StepKind } from './stepping';

/** Bound on the steps one request may take (the VMM handler plus every hop handler). */
const MAX_REQUEST_STEPS = 4 * MAX_STEPS_PER_HANDLER;

export class HandlerStepJob implements Job {
  constructor(private readonly runtime: DebugRuntime, private readonly kind: StepKind) {}

  slice(): JobResult | undefined {
    const rt = this.runtime;
    const start = rt.activeHandler();
    if (start === undefined) return this.backInGuest('the VMM handler');
    const root = rootHandler(start).handler;
    for (let n = 0; n <= MAX_REQUEST_STEPS; n++) {
      const before = rt.activeHandler();
      if (before === undefined) return this.backInGuest(`"${root}"`);
      const ran = before.stepNames[before.nextStep] ?? 'finish';
      const stop = rt.engineStep();
      if (stop.reason !== 'budget' && stop.reason !== 'breakpoint') {
        const result = rt.interpretMachineStop(stop);
        if (result !== undefined) return result;
      }
      const after = rt.activeHandler();
      if (after === undefined || rootHandler(after).handler !== root) return this.backInGuest(`"${root}"`);
      if (this.kind !== 'out') return { kind: 'stop', stop: { reason: 'step', description: describeStep(before, ran, after) } };
    }
    return { kind: 'stop', stop: { reason: 'step', description: `Step out: the VMM handler did not finish within ${MAX_REQUEST_STEPS} steps` } };
  }

  private backInGuest(what: string): JobResult {
    const rt = this.runtime;
    rt.tracker.reconcile(rt.stackTop());
    const again = rt.activeHandler();
    const where = again === undefined ? `the guest continues at ${rt.describeAddress(rt.pc())}` : `the VMM went on with "${again.handler}"`;
    return { kind: 'stop', stop: { reason: 'step', description: `${this.kind === 'out' ? 'Step out' : 'Step'}: ${what} finished; ${where}` } };
  }
}

/** "VMM step "x" done; next: "y" (handler)", or where the request went when the step moved it to another handler. */
function describeStep(before: HandlerExecutionState, ran: string, after: HandlerExecutionState): string {
  const next = after.stepNames[after.nextStep];
  const nextText = next === undefined ? '' : `; next: "${next}"`;
  const ranIn = `${LAYER_INFO[before.layer].title} step "${ran}" done`;
  if (after.handler === before.handler) return `${ranIn}${nextText} (${after.handler})`;
  const entered = after.caller !== undefined && before.caller === undefined ? 'the request went on to' : after.caller === undefined ? 'back in' : 'the request moved to';
  return `${ranIn}; ${entered} the ${LAYER_INFO[after.layer].title}: "${after.handler}"${nextText}`;
}
