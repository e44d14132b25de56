// Runs one I/O request through its architecture's path as steppable handlers (./hopHandlers.ts): the VMM step
// that forwards the access delegates to a HopChain (handlerSteps.ts NestedRun), which walks the management-OS,
// host-OS or in-VMM device-model handlers one named step at a time, records each transition of ioPath() at
// the step that causes it, and performs the device access at the step that does it. Run to completion
// (full speed) it records exactly the transitions ioPath() lists, with their costs, in the same order.

import { ioPath, type PathHop } from '../architectures';
import { HandlerExecution, type ExecutedStep, type HandlerDefinition, type HandlerExecutionState, type HandlerStep, type NestedRun, type StepResult } from '../handlerSteps';
import type { Architecture } from '../layers';
import type { LayerStack } from '../layerStack';
import { ioPathPlan, type HopAction, type HopHandlerPlan } from './hopHandlers';

/** How a chain reaches its engine: record a hop as a transition (charging its costs), and the layer stack. */
export interface HopRecorder {
  record(hop: PathHop): void;
  stack(): LayerStack;
}

/** The I/O path of one engine: starts a HopChain for each access the VMM forwards. */
export class DevicePath {
  constructor(readonly architecture: Architecture, private readonly recorder: HopRecorder) {}

  /**
   * Leaves the VMM for the access `what` (records the entry hops) and returns the chain of hop handlers;
   * `perform` is the access itself, run at the device step; the chain's result is what `perform` returned.
   * `caller`: the forwarding handler's progress, put on its frame before the request leaves it.
   */
  start(what: string, perform: () => StepResult, caller?: HandlerExecutionState): HopChain {
    return new HopChain(this.architecture, what, perform, this.recorder, caller);
  }

  /** The whole path at once (full speed): returns what `perform` returned. */
  runAll(what: string, perform: () => StepResult): StepResult {
    const chain = this.start(what, perform);
    while (!chain.finished) chain.step();
    return chain.result;
  }
}

/** The hops and hop-handler definitions of one (architecture, access text): built once, shared by every chain. */
interface PathTemplate {
  readonly hops: readonly PathHop[];
  readonly entry: readonly number[];
  readonly definitions: readonly HandlerDefinition<HopChain>[];
}

/** Templates by "architecture|what"; the access texts a guest uses are few (cleared if a guest invents many). */
const templates = new Map<string, PathTemplate>();
const MAX_TEMPLATES = 256;

function templateOf(architecture: Architecture, what: string): PathTemplate {
  const key = `${architecture}|${what}`;
  let template = templates.get(key);
  if (template === undefined) {
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    const hops = ioPath(architecture, what);
    const plan = ioPathPlan(architecture, what);
    template = { hops, entry: plan.entry, definitions: plan.handlers.map((handler) => definitionOf(handler, hops)) };
    templates.set(key, template);
  }
  return template;
}

/** A hop handler's steps: each runs its actions on the chain; it shows the cost parameter of its first hop. */
function definitionOf(plan: HopHandlerPlan, hops: readonly PathHop[]): HandlerDefinition<HopChain> {
  const steps = plan.steps.map((stepPlan): HandlerStep<HopChain> => {
    const firstHop = stepPlan.actions.find((action): action is number => typeof action === 'number');
    const cost = firstHop === undefined ? undefined : hops[firstHop]!.costs[0];
    const actions = stepPlan.actions;
    const run = (chain: HopChain): StepResult => chain.act(actions);
    return cost === undefined ? { name: stepPlan.name, run } : { name: stepPlan.name, run, cost };
  });
  return { name: plan.name, layer: plan.layer, steps };
}

/**
 * One request's hop handlers in sequence. Hop costs are charged by the transitions the steps record (the
 * transition costs ioPath() always had, charged to the layer entered); a step shows the cost parameter of its
 * first transition, and the handlers charge nothing besides, so a run costs what it cost before.
 */
export class HopChain implements NestedRun {
  private readonly hops: readonly PathHop[];
  private readonly handlers: HandlerExecution<HopChain>[];
  private current = 0;
  private performed: StepResult = undefined;

  constructor(architecture: Architecture, what: string, private readonly perform: () => StepResult, private readonly recorder: HopRecorder, caller?: HandlerExecutionState) {
    const template = templateOf(architecture, what);
    this.hops = template.hops;
    // The frame of the handler that forwards the request shows it waiting at its forwarding step.
    if (caller !== undefined) this.recorder.stack().setHandler(caller);
    for (const hop of template.entry) this.recorder.record(this.hops[hop]!);
    this.handlers = template.definitions.map((definition) => new HandlerExecution<HopChain>(definition, this));
  }

  get finished(): boolean {
    return this.current >= this.handlers.length;
  }

  get result(): StepResult {
    return this.performed;
  }

  step(): ExecutedStep | undefined {
    const execution = this.handlers[this.current];
    if (execution === undefined) return undefined;
    const executed = execution.step();
    if (execution.finished) this.current++;
    return executed;
  }

  snapshot(): HandlerExecutionState {
    return (this.handlers[this.current] ?? this.handlers[this.handlers.length - 1]!).snapshot();
  }

  /** One hop step's work: record hop `n` (the frame it leaves stops showing its steps) or perform the access. */
  act(actions: readonly HopAction[]): StepResult {
    for (const action of actions) {
      if (action === 'access') {
        this.performed = this.perform();
      } else {
        this.recorder.stack().setHandler(undefined);
        this.recorder.record(this.hops[action]!);
      }
    }
    return undefined;
  }
}
