// The current stack of layers — who interrupted whom, and why. The bottom frame is the layer the machine
// started in; each trap, exit, hypercall, world switch or forward I/O hop pushes the layer it enters; a
// resume, VM entry or return hop pops back to the layer it returns to; a fault reflection or interrupt
// injection replaces the VMM frame with the guest kernel frame that now handles the event on behalf of the
// interrupted layer. The debugger turns the frames into call-stack frames (top first).

import type { Layer } from './layers';
import type { HandlerExecutionState } from './handlerSteps';
import type { Transition, TransitionKind } from './transitions';

export interface LayerFrame {
  readonly layer: Layer;
  /** Why this layer is running: the reason of the transition that entered it ("start" for the bottom). */
  readonly reason: string;
  /** Kind of the entering transition; undefined for the bottom frame. */
  readonly enteredBy?: TransitionKind;
  /** Sequence number of the entering transition, if any. */
  readonly transitionSeq?: number;
  /** Guest EIP at which the interrupted layer will continue, when known (from the transition's instruction). */
  readonly returnAddress?: number;
  /** The VMM handler running in this frame, with its step position, if any. */
  readonly handler?: HandlerExecutionState;
}

export type StackUpdate = { readonly ok: true } | { readonly ok: false; readonly problem: string };

/** Deepest nesting accepted; deeper means a runaway loop of transitions, reported rather than grown. */
export const MAX_LAYER_DEPTH = 64;

const REPLACING_KINDS: ReadonlySet<TransitionKind> = new Set<TransitionKind>(['fault-reflection', 'interrupt-injection']);

export class LayerStack {
  private frames: LayerFrame[];

  constructor(bottom: Layer) {
    this.frames = [{ layer: bottom, reason: 'start' }];
  }

  /** The running layer. */
  get current(): Layer {
    return this.frames[this.frames.length - 1]!.layer;
  }

  get depth(): number {
    return this.frames.length;
  }

  /** Frames top (running) first, as a call stack is shown. */
  topFirst(): readonly LayerFrame[] {
    return [...this.frames].reverse();
  }

  /** Frames bottom first. */
  bottomFirst(): readonly LayerFrame[] {
    return [...this.frames];
  }

  /**
   * Applies a recorded transition. Returns a problem (never throws) when the transition does not start in
   * the running layer or the stack would exceed MAX_LAYER_DEPTH; the stack is unchanged then.
   */
  apply(transition: Transition): StackUpdate {
    const top = this.frames[this.frames.length - 1]!;
    if (transition.from !== top.layer) {
      return { ok: false, problem: `transition #${transition.seq} starts in ${transition.from} but ${top.layer} is running` };
    }
    const entered: LayerFrame = {
      layer: transition.to,
      reason: transition.reason,
      enteredBy: transition.kind,
      transitionSeq: transition.seq,
      ...(transition.instruction === undefined ? {} : { returnAddress: transition.instruction.address }),
    };
    if (REPLACING_KINDS.has(transition.kind) && this.frames.length > 1) {
      this.frames[this.frames.length - 1] = entered;
      return { ok: true };
    }
    // A transition to a layer already below the top returns to the most recent frame of that layer.
    for (let index = this.frames.length - 2; index >= 0; index--) {
      if (this.frames[index]!.layer === transition.to) {
        if (isReturnKind(transition.kind)) {
          this.frames.length = index + 1;
          return { ok: true };
        }
        break;
      }
    }
    if (isReturnKind(transition.kind) && transition.kind !== 'io-hop' && transition.kind !== 'world-switch') {
      return { ok: false, problem: `transition #${transition.seq} (${transition.kind}) returns to ${transition.to}, which nothing below ${top.layer} is` };
    }
    if (this.frames.length >= MAX_LAYER_DEPTH) {
      return { ok: false, problem: `layer stack deeper than ${MAX_LAYER_DEPTH} frames at transition #${transition.seq}` };
    }
    this.frames.push(entered);
    return { ok: true };
  }

  /** Attaches (or updates) the running handler's progress on the top frame. */
  setHandler(handler: HandlerExecutionState | undefined): void {
    const top = this.frames[this.frames.length - 1]!;
    if (handler === undefined && top.handler === undefined) return; // nothing to clear (the common case at full speed)
    const { handler: _previous, ...rest } = top;
    this.frames[this.frames.length - 1] = handler === undefined ? rest : { ...rest, handler };
  }

  toJSON(): readonly LayerFrame[] {
    return this.bottomFirst();
  }

  static fromJSON(frames: readonly LayerFrame[]): LayerStack {
    if (frames.length === 0) throw new RangeError('a layer stack has at least one frame');
    const stack = new LayerStack(frames[0]!.layer);
    stack.frames = [...frames];
    return stack;
  }
}

/**
 * Kinds that may return to a lower frame. Resume and VM entry always return; world switches and I/O hops
 * return when their target is below (VMM←host, VMM←management OS), otherwise they go deeper.
 */
function isReturnKind(kind: TransitionKind): boolean {
  return kind === 'resume' || kind === 'vm-entry' || kind === 'world-switch' || kind === 'io-hop';
}
