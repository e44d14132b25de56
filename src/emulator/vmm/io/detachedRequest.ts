// A device request forwarded outside any VMM handler (a paravirtual console_io: the hypercall has no named
// steps and runs to its end at once) while the debugger steps: its hop chain (./devicePath.ts) becomes the
// active handler by itself, and whatever the hypercall records or charges after forwarding it (its resume
// transition, an upcall) waits in `tail` and is replayed, in order, when the hops are done — so the trace and
// the cycles come out as in a full-speed run, only later in host time.

import type { HandlerExecutionState } from '../handlerSteps';
import type { HopChain } from './devicePath';

export class DetachedRequest {
  private readonly tail: (() => void)[] = [];
  /** The VMM's side of the request, shown as the hop handlers' caller (it waits at its forwarding step). */
  private readonly caller: HandlerExecutionState;

  constructor(private readonly chain: HopChain, what: string) {
    const stepNames = ['forward the request along the device path', 'return to the guest'];
    this.caller = { handler: `forward ${what}`, layer: 'vmm', stepNames, nextStep: 0, executed: [{ index: 0, name: stepNames[0]! }] };
  }

  get finished(): boolean {
    return this.chain.finished;
  }

  /** The hop handler in progress, with the forwarding VMM as its caller. */
  snapshot(): HandlerExecutionState {
    return { ...this.chain.snapshot(), caller: this.caller };
  }

  /** One named step of the current hop handler. */
  step(): void {
    this.chain.step();
  }

  /** Keeps a record or charge of the forwarding code for after the hops. */
  defer(action: () => void): void {
    this.tail.push(action);
  }

  /** Runs the remaining hops, then what was deferred meanwhile. */
  finish(): void {
    while (!this.chain.finished) this.chain.step();
    for (const deferred of this.tail) deferred();
    this.tail.length = 0;
  }
}
