// The named-step model of VMM handler execution. A handler (for a trap, a VM exit, a hypercall, one hop of an
// I/O request) is a fixed sequence of named steps — "save guest state", "decode faulting instruction",
// "check", "emulate on the virtual CPU", "advance guest EIP", "resume" — and the machine can stop between any
// two of them, so a debugger steps through the VMM as it steps through guest code. Each step may charge a
// cost-model parameter, jump to another named step (e.g. a failed check jumps to "reflect #GP") or finish the
// handler with an outcome. A step may also hand its work to handlers in other layers (the hops of an I/O
// request through the management OS or the host OS, ./io/): the execution then walks their steps, one per
// `step()`, before it goes on after that step.

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
  /**
   * Hands the step's work to handlers in other layers: returns the nested run that will call `run` (the
   * step's own work, e.g. the device access) at its own step, or undefined to run the step here as usual.
   */
  readonly delegate?: StepDelegate<Context>;
}

/**
 * See HandlerStep.delegate and HandlerExecution.delegateAt. `caller` is the delegating handler's progress at
 * that moment (waiting at the delegating step), for the frame it leaves behind.
 */
export type StepDelegate<Context> = (context: Context, run: () => StepResult, caller: HandlerExecutionState) => NestedRun | undefined;

/**
 * Handlers a step handed its work to (an I/O request's hops), run one named step per `step()`. When finished,
 * `result` is what the delegating step's own `run` returned (the execution continues with it).
 */
export interface NestedRun {
  readonly finished: boolean;
  readonly result: StepResult;
  /** Runs one step of the current nested handler; returns it (undefined when already finished). */
  step(): ExecutedStep | undefined;
  /** The nested handler in progress (its own layer: management OS, host OS kernel…). */
  snapshot(): HandlerExecutionState;
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
  /** For a handler another handler's step delegated to: that handler, waiting at the delegating step. */
  readonly caller?: HandlerExecutionState;
}

/** The handler at the bottom of a chain of delegations (the VMM handler an I/O hop works for). */
export function rootHandler(state: HandlerExecutionState): HandlerExecutionState {
  let root = state;
  while (root.caller !== undefined) root = root.caller;
  return root;
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
  /** Handlers the step at nextIndex delegated to, while they run. */
  private nested: NestedRun | null = null;
  private delegates: Map<string, StepDelegate<Context>> | null = null;

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

  /** Name of the step that `step()` would run next (inside a nested handler: its step), or undefined when finished. */
  get nextStepName(): string | undefined {
    if (this.nested !== null) {
      const inner = this.nested.snapshot();
      return inner.stepNames[inner.nextStep];
    }
    return this.finished ? undefined : this.definition.steps[this.nextIndex]?.name;
  }

  /** Whether a step's work is being done by handlers in other layers right now (I/O hops). */
  get delegating(): boolean {
    return this.nested !== null;
  }

  /**
   * Delegates the step named `stepName` like HandlerStep.delegate, for an engine whose handler tables it does
   * not define itself (hardware assist hands "perform the port access" to the architecture's I/O path).
   */
  delegateAt(stepName: string, delegate: StepDelegate<Context>): void {
    (this.delegates ??= new Map()).set(stepName, delegate);
  }

  get executed(): readonly ExecutedStep[] {
    return this.executedSteps;
  }

  /**
   * Runs one step (inside a delegation: one step of the nested handler). Returns the executed step, or
   * undefined if the handler had already finished.
   */
  step(): ExecutedStep | undefined {
    if (this.finalOutcome !== undefined) return undefined;
    if (this.nested !== null) {
      const executed = this.nested.step();
      if (this.nested.finished) {
        const result = this.nested.result;
        this.nested = null;
        this.advance(this.nextIndex, result);
      }
      return executed;
    }
    const steps = this.definition.steps;
    const index = this.nextIndex;
    const step = steps[index]!;
    const executed: ExecutedStep = step.cost === undefined ? { index, name: step.name } : { index, name: step.name, cost: step.cost };
    this.executedSteps.push(executed);
    if (step.cost !== undefined) this.charge(step.cost, step.name);
    const delegate = step.delegate ?? this.delegates?.get(step.name);
    const nested = delegate === undefined ? undefined : delegate(this.context, () => step.run(this.context), this.ownSnapshot());
    if (nested !== undefined && !nested.finished) {
      this.nested = nested; // nextIndex stays on the delegating step until the nested handlers finish
      return executed;
    }
    this.advance(index, nested !== undefined ? nested.result : step.run(this.context));
    return executed;
  }

  /** Moves past step `index` according to its result. */
  private advance(index: number, result: StepResult): void {
    const steps = this.definition.steps;
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
  }

  /** Runs the remaining steps and returns the outcome. */
  runToCompletion(): HandlerOutcome {
    while (this.finalOutcome === undefined) this.step();
    return this.finalOutcome;
  }

  /** This handler's progress; while a step is delegated, the nested handler's (with this one as its caller). */
  snapshot(): HandlerExecutionState {
    const own = this.ownSnapshot();
    return this.nested === null ? own : { ...this.nested.snapshot(), caller: own };
  }

  private ownSnapshot(): HandlerExecutionState {
    const base = {
      handler: this.definition.name,
      layer: this.definition.layer,
      stepNames: stepNamesOf(this.definition),
      nextStep: this.nextIndex,
      executed: [...this.executedSteps],
    };
    return this.finalOutcome === undefined ? base : { ...base, outcome: this.finalOutcome };
  }
}

/** Step names per handler definition, computed once (snapshots are taken at every step and VMM entry). */
const stepNameCache = new WeakMap<HandlerDefinition<never>, readonly string[]>();
function stepNamesOf<Context>(definition: HandlerDefinition<Context>): readonly string[] {
  const key = definition as unknown as HandlerDefinition<never>;
  let names = stepNameCache.get(key);
  if (names === undefined) {
    names = definition.steps.map((step) => step.name);
    stepNameCache.set(key, names);
  }
  return names;
}

/** Builds a step (keeps handler tables short and readable). */
export function step<Context>(name: string, run: (context: Context) => StepResult, cost?: string, delegate?: StepDelegate<Context>): HandlerStep<Context> {
  const base: HandlerStep<Context> = cost === undefined ? { name, run } : { name, run, cost };
  return delegate === undefined ? base : { ...base, delegate };
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
