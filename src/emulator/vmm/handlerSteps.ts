// The named-step model of VMM handler execution. A handler (for a trap, a VM exit, a hypercall, one hop of an
// I/O request) is a fixed sequence of named steps — "save guest state", "decode faulting instruction",
// "check", "emulate on the virtual CPU", "advance guest EIP", "resume" — and the machine can stop between any
// two of them, so a debugger steps through the VMM as it steps through guest code. Each step may charge a
// cost-model parameter, jump to another named step (e.g. a failed check jumps to "reflect #GP") or finish the
// handler with an outcome.

import type { Layer } from './layers';

/** What the engine does once a handler finishes. */
export type HandlerOutcome =
  | { readonly kind: 'resume' } // return to the interrupted guest layer
  | { readonly kind: 'reflect'; readonly vector: number; readonly errorCode?: number } // deliver through the guest IDT
  | { readonly kind: 'inject'; readonly vector: number } // deliver a virtual interrupt
  | { readonly kind: 'forward'; readonly to: Layer } // continue in another layer (I/O hop, world switch)
  | { readonly kind: 'stop'; readonly message: string }; // stop the guest with a diagnostic

/** A step may continue with the next one, jump to a named step, or finish the handler. */
export type StepResult = void | { readonly goto: string } | { readonly finish: HandlerOutcome };

export interface HandlerStep<Context> {
  /** Shown in the debugger's call stack and trace, e.g. "emulate cli on the virtual CPU". */
  readonly name: string;
  /** Cost-model parameter charged once when the step runs (see costModel.ts), if any. */
  readonly cost?: string;
  run(context: Context): StepResult;
}

export interface HandlerDefinition<Context> {
  /** e.g. "#GP handler (trap-and-emulate)", "hypercall console_io". */
  readonly name: string;
  /** The layer in which the handler runs (vmm, management-os, host-os-kernel…). */
  readonly layer: Layer;
  readonly steps: readonly HandlerStep<Context>[];
}

/** One executed step, as kept for the trace. */
export interface ExecutedStep {
  readonly index: number;
  readonly name: string;
  readonly cost?: string;
}

/** Serialisable progress of a handler: what the debugger shows in the frame and restores after a snapshot. */
export interface HandlerExecutionState {
  readonly handler: string;
  readonly layer: Layer;
  readonly stepNames: readonly string[];
  /** Index of the next step to run; equals stepNames.length when finished. */
  readonly nextStep: number;
  readonly executed: readonly ExecutedStep[];
  readonly outcome?: HandlerOutcome;
}

/** Upper bound on steps one handler may run (a `goto` loop in a handler is a VMM bug, reported as a stop). */
export const MAX_STEPS_PER_HANDLER = 1024;

/**
 * A handler in progress: a program counter over the named steps. `step()` runs exactly one step; the engine
 * calls it once per debugger "step" or in a loop for "continue". The charge callback receives each step's
 * cost parameter (the engine turns it into cycles through the cost model and ledger).
 */
export class HandlerExecution<Context> {
  private nextIndex = 0;
  private readonly executedSteps: ExecutedStep[] = [];
  private finalOutcome: HandlerOutcome | undefined;

  constructor(
    readonly definition: HandlerDefinition<Context>,
    private readonly context: Context,
    private readonly charge: (costParameter: string, stepName: string) => void = () => {},
  ) {
    if (definition.steps.length === 0) this.finalOutcome = { kind: 'resume' };
  }

  get finished(): boolean {
    return this.finalOutcome !== undefined;
  }

  /** The outcome once finished; undefined while steps remain. */
  get outcome(): HandlerOutcome | undefined {
    return this.finalOutcome;
  }

  /** Name of the step that `step()` would run next, or undefined when finished. */
  get nextStepName(): string | undefined {
    return this.finished ? undefined : this.definition.steps[this.nextIndex]?.name;
  }

  get executed(): readonly ExecutedStep[] {
    return this.executedSteps;
  }

  /** Runs one step. Returns the executed step, or undefined if the handler had already finished. */
  step(): ExecutedStep | undefined {
    if (this.finalOutcome !== undefined) return undefined;
    const steps = this.definition.steps;
    const index = this.nextIndex;
    const step = steps[index]!;
    const executed: ExecutedStep = step.cost === undefined ? { index, name: step.name } : { index, name: step.name, cost: step.cost };
    this.executedSteps.push(executed);
    if (step.cost !== undefined) this.charge(step.cost, step.name);
    const result = step.run(this.context);
    if (result && 'finish' in result) {
      this.finalOutcome = result.finish;
      this.nextIndex = steps.length;
    } else if (result && 'goto' in result) {
      const target = steps.findIndex((candidate) => candidate.name === result.goto);
      if (target < 0) {
        this.finalOutcome = { kind: 'stop', message: `VMM handler "${this.definition.name}" has no step named "${result.goto}"` };
        this.nextIndex = steps.length;
      } else {
        this.nextIndex = target;
      }
    } else {
      this.nextIndex = index + 1;
      if (this.nextIndex >= steps.length) this.finalOutcome = { kind: 'resume' };
    }
    if (this.finalOutcome === undefined && this.executedSteps.length >= MAX_STEPS_PER_HANDLER) {
      this.finalOutcome = { kind: 'stop', message: `VMM handler "${this.definition.name}" exceeded ${MAX_STEPS_PER_HANDLER} steps` };
      this.nextIndex = steps.length;
    }
    return executed;
  }

  /** Runs the remaining steps and returns the outcome. */
  runToCompletion(): HandlerOutcome {
    while (this.finalOutcome === undefined) this.step();
    return this.finalOutcome;
  }

  snapshot(): HandlerExecutionState {
    const base = {
      handler: this.definition.name,
      layer: this.definition.layer,
      stepNames: this.definition.steps.map((step) => step.name),
      nextStep: this.nextIndex,
      executed: [...this.executedSteps],
    };
    return this.finalOutcome === undefined ? base : { ...base, outcome: this.finalOutcome };
  }
}

/** Builds a step (keeps handler tables short and readable). */
export function step<Context>(name: string, run: (context: Context) => StepResult, cost?: string): HandlerStep<Context> {
  return cost === undefined ? { name, run } : { name, run, cost };
}

/** The canonical step names of a trap-and-emulate privileged-instruction handler (issue 5). */
export const TRAP_AND_EMULATE_STEPS = [
  'save guest state',
  'decode faulting instruction',
  'check',
  'emulate on the virtual CPU',
  'advance guest EIP',
  'resume',
] as const;
