// One dispatcher keyed by SDM basic exit reasons, with one handler per cause (the shape of Bochs's VMexit_*
// functions and firecracker's single exit match, see style.md). Every technique routes its VMM entries
// through one of these: the handler for a reason builds the named steps (handlerSteps.ts) the engine then
// runs one at a time, so the debugger can pause between them. Reasons without a handler become a clean stop
// ("unhandled VM exit 45 (Virtualized EOI)"), never a host exception.

import { exitReasonInfo, exitReasonName } from './exitReasons';
import { HandlerExecution, type HandlerDefinition } from './handlerSteps';
import type { Layer } from './layers';
import type { VmExit } from './vmExit';

/** Builds the handler (its named steps) for one exit; receives the exit record and the engine's context. */
export type ExitHandler<Context> = (exit: VmExit, context: Context) => HandlerDefinition<Context>;

export interface ExitHandlerRegistration<Context> {
  readonly reason: number;
  /** For the debugger's VM-exit view: "emulate I/O instruction", "reflect exception"… */
  readonly description: string;
  readonly handler: ExitHandler<Context>;
}

/** Per-reason statistics, serialisable. */
export interface ExitCount {
  readonly reason: number;
  readonly name: string;
  readonly count: number;
}

export class ExitDispatcher<Context> {
  private readonly handlers: (ExitHandlerRegistration<Context> | undefined)[] = [];
  private readonly counts = new Map<number, number>();

  /** @param layer where handlers run (the VMM, or the guest kernel for `native`) */
  constructor(private readonly layer: Layer = 'vmm') {}

  /**
   * Registers the handler for one basic exit reason. Registering an unknown reason or the same reason twice is a
   * programming error in an engine (not guest behaviour) and throws at engine construction time.
   */
  on(reason: number, description: string, handler: ExitHandler<Context>): this {
    if (exitReasonInfo(reason) === undefined) throw new RangeError(`no SDM basic exit reason ${reason}`);
    if (this.handlers[reason] !== undefined) throw new Error(`exit reason ${reason} (${exitReasonName(reason)}) already has a handler`);
    this.handlers[reason] = { reason, description, handler };
    return this;
  }

  handles(reason: number): boolean {
    return this.handlers[reason] !== undefined;
  }

  /** Registered reasons, ascending. */
  registrations(): readonly ExitHandlerRegistration<Context>[] {
    return this.handlers.filter((entry): entry is ExitHandlerRegistration<Context> => entry !== undefined);
  }

  /**
   * Counts the exit and starts its handler. The returned execution has not run any step yet: the engine calls
   * `step()` (debugger) or `runToCompletion()` (free run), charging each step's cost through `charge`.
   */
  dispatch(
    exit: VmExit,
    context: Context,
    charge?: (costParameter: string, stepName: string) => void,
  ): HandlerExecution<Context> {
    this.counts.set(exit.reason, (this.counts.get(exit.reason) ?? 0) + 1);
    const registration = this.handlers[exit.reason];
    const definition: HandlerDefinition<Context> =
      registration === undefined ? this.unhandled(exit) : registration.handler(exit, context);
    return new HandlerExecution(definition, context, charge);
  }

  /** Counts an exit that a technique handles outside the dispatcher (e.g. a hypercall as VMCALL). */
  count(exit: VmExit): void {
    this.counts.set(exit.reason, (this.counts.get(exit.reason) ?? 0) + 1);
  }

  /** How often each reason was dispatched, ascending by reason. */
  exitCounts(): readonly ExitCount[] {
    return [...this.counts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([reason, count]) => ({ reason, name: exitReasonName(reason), count }));
  }

  resetCounts(): void {
    this.counts.clear();
  }

  private unhandled(exit: VmExit): HandlerDefinition<Context> {
    const message = `unhandled VM exit ${exit.reason} (${exitReasonName(exit.reason)})`;
    return {
      name: message,
      layer: this.layer,
      steps: [{ name: 'no handler for this exit reason', run: () => ({ finish: { kind: 'stop', message } }) }],
    };
  }
}
