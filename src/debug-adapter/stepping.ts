// SPDX-License-Identifier: MIT
// The runtime's jobs: continue, and step in/over/out at line or instruction granularity. A job runs in
// slices (the runtime yields to the event loop between them) and ends with a stop or the guest's end.
// Stepping single-steps the CPU and feeds the call-stack tracker; stepping over a CALL/INT (or an interrupt
// that arrives mid-step) and stepping out run at full speed to the return address with an internal
// breakpoint, accepting it only once the stack is back above the frame (so recursion returns correctly).
// Under a VMM, step in on an instruction that traps ends at the first step of the VMM handler (vmmStepping.ts
// walks it); step over and step out run the handler to completion (the VMM is transparent).
// Several vCPUs: a step belongs to the vCPU focused when it began; the other vCPUs keep running their turns
// (all-stop: everything stops when the step ends). A user breakpoint another vCPU hits meanwhile ends the step
// there, on that vCPU, as in GDB.
import { HYPERCALL_VECTOR, hypercallByName } from '../emulator/vmm/hypercalls';
import type { DebugRuntime, ExitInfo, GuestStop, StopInfo, StopReason } from './runtime';

export type JobResult = { readonly kind: 'stop'; readonly stop: StopInfo } | { readonly kind: 'ended'; readonly exit: ExitInfo };

/** One unit of work the runtime drives slice by slice; slice() returns undefined to be called again. */
export interface Job {
  slice(): JobResult | undefined;
}

export type StepKind = 'in' | 'over' | 'out';
export type StepGranularity = 'line' | 'instruction';

const SINGLE_STEPS_PER_SLICE = 20_000;

const CALLS = new Set(['call', 'int', 'int3', 'into', 'int1']);
const RETURNS = new Set(['ret', 'retf', 'iret', 'iretd', 'iretw']);
const PV_IRET = hypercallByName('iret')!.number;

/**
 * A software interrupt that never comes back to the instruction after it: the paravirtual `iret` hypercall
 * (int 0x82 with EAX = 23) returns to the frame on the guest kernel stack, like IRET itself. Stepping over it
 * is a plain step (the engine runs the whole hypercall as one guest instruction), not a run to pc + length.
 */
function isNonReturningInterrupt(runtime: DebugRuntime, text: string | undefined): boolean {
  if (runtime.technique !== 'paravirtual' || text === undefined) return false;
  const vector = /^int\s+(\S+)$/i.exec(text.trim())?.[1];
  return vector !== undefined && Number(vector) === HYPERCALL_VECTOR && runtime.regs.read('eax') === PV_IRET;
}

function breakpointStop(runtime: DebugRuntime): JobResult | undefined {
  const decision = runtime.breakpoints.decide(runtime.pc(), (e) => runtime.evaluate(e));
  for (const m of decision.messages) runtime.log(m);
  if (!decision.stop) return undefined;
  const reason: StopReason = decision.kind === 'function' ? 'function breakpoint' : decision.kind === 'instruction' ? 'instruction breakpoint' : 'breakpoint';
  return { kind: 'stop', stop: { reason, description: `Breakpoint at ${runtime.describeAddress(runtime.pc())}`, hitBreakpointIds: decision.ids } };
}

/** Continue: run at full speed (debug loop) until a breakpoint, an exception filter, a pause or the end. */
export class ContinueJob implements Job {
  constructor(private readonly runtime: DebugRuntime) {}

  slice(): JobResult | undefined {
    const stop = this.runtime.runGuest(this.runtime.reverse.sliceInstructions, true);
    if (stop.reason === 'breakpoint') return breakpointStop(this.runtime);
    return this.runtime.interpretMachineStop(stop);
  }
}

/** Running to a return address with the stack at or above `minStackTop`. */
interface ReturnPhase {
  readonly address: number;
  readonly minStackTop: number;
}

export class StepJob implements Job {
  private readonly startPc: number;
  private readonly startFile: string | undefined;
  private readonly startLine: number | undefined;
  private readonly startStackTop: number;
  private returning: ReturnPhase | undefined;
  private started = false;
  /** The vCPU this step is about. */
  private readonly cpu: number;

  constructor(private readonly runtime: DebugRuntime, private readonly kind: StepKind, private readonly granularity: StepGranularity) {
    this.cpu = runtime.vcpus.focused;
    this.startPc = runtime.pc();
    const site = runtime.program?.siteAt(this.startPc);
    this.startFile = site?.file;
    this.startLine = site?.line;
    this.startStackTop = runtime.stackTop();
  }

  slice(): JobResult | undefined {
    const rt = this.runtime;
    if (!this.started) {
      this.started = true;
      if (this.kind === 'out') {
        const frame = rt.guestFrames()[0];
        if (frame !== undefined) this.beginReturn(frame.returnAddress, frame.slot + 4);
      }
    }
    for (let n = 0; n < SINGLE_STEPS_PER_SLICE; n++) {
      if (this.returning !== undefined) {
        const result = this.runToReturn(this.returning);
        if (result !== 'returned') return result;
        this.returning = undefined;
        if (this.kind === 'out' || this.isDone()) return this.stepStop();
        continue;
      }
      const pc = rt.pc();
      const insn = rt.instructionAt(pc);
      const mnemonic = insn?.mnemonic ?? '';
      const length = insn?.length ?? 0;
      if (this.kind !== 'in' && CALLS.has(mnemonic) && !isNonReturningInterrupt(rt, insn?.text)) {
        // Step over a call or software interrupt: run until it returns here.
        this.beginReturn((pc + length) >>> 0, rt.stackTop());
        continue;
      }
      const depthBefore = rt.tracker.depth;
      const stackBefore = rt.stackTop();
      const retiredBefore = rt.regs.core.retired;
      // Step in enters the VMM when the instruction traps: the engine stops at the handler's first step.
      const stop = this.kind === 'in' ? rt.engineStep() : rt.vcpus.count > 1 ? rt.stepFocused() : rt.runGuest(1, false);
      if (rt.vcpus.focused !== this.cpu) return this.afterMachineStop(stop) ?? this.refocus(); // another vCPU stopped
      // A vCPU that is halted or waits for a start-up IPI did not run while the others took their turns.
      if (rt.vcpus.count > 1 && stop.reason === 'budget' && rt.regs.core.retired === retiredBefore) continue;
      const handler = this.kind === 'in' ? rt.activeHandler() : undefined;
      if (handler !== undefined) {
        const first = handler.stepNames[handler.nextStep];
        return { kind: 'stop', stop: { reason: 'step', description: `Step in: ${insn?.text ?? 'the instruction'} at ${rt.describeAddress(pc)} entered the VMM — "${handler.handler}"${first === undefined ? '' : `, first step "${first}"`}` } };
      }
      rt.tracker.afterStep(mnemonic, pc, length, rt.stackTop());
      const outcome = this.afterMachineStop(stop);
      if (outcome !== undefined) return outcome;
      if (this.kind === 'out') {
        if (RETURNS.has(mnemonic) && rt.stackTop() > stackBefore && rt.stackTop() > this.startStackTop) return this.stepStop();
        continue;
      }
      // HLT retired and the CPU sleeps until an interrupt: keep going, so the step ends where the guest
      // continues after waking (through the handler for step in, past it for step over).
      if (rt.regs.halted()) continue;
      // An interrupt arrived during a step over: treat the handler as transparent.
      const top = rt.guestFrames()[0];
      if (this.kind === 'over' && rt.tracker.depth > depthBefore && top !== undefined && top.kind === 'interrupt') {
        this.beginReturn(top.returnAddress, top.slot + 4);
        continue;
      }
      if (this.isDone()) return this.stepStop();
    }
    return undefined;
  }

  private beginReturn(address: number, minStackTop: number): void {
    this.returning = { address, minStackTop };
    this.runtime.breakpoints.addInternal(address);
  }

  /** Runs one slice towards the return; 'returned' when there, a result for any other stop. */
  private runToReturn(phase: ReturnPhase): JobResult | 'returned' | undefined {
    const rt = this.runtime;
    const stop = rt.runGuest(rt.reverse.sliceInstructions, true);
    if (stop.reason === 'breakpoint') {
      const pc = rt.pc();
      if (rt.vcpus.focused === this.cpu && pc === phase.address && rt.stackTop() >= phase.minStackTop) {
        rt.breakpoints.clearInternal();
        rt.tracker.reconcile(rt.stackTop());
        return 'returned';
      }
      return breakpointStop(rt) ?? this.refocus();
    }
    return rt.interpretMachineStop(stop) ?? this.refocus();
  }

  /** Keep stepping this step's vCPU (another one stopped without a reason to end the step). */
  private refocus(): undefined {
    this.runtime.vcpus.focus(this.cpu);
    return undefined;
  }

  private afterMachineStop(stop: GuestStop): JobResult | undefined {
    if (stop.reason === 'budget' || stop.reason === 'breakpoint') return undefined;
    return this.runtime.interpretMachineStop(stop);
  }

  /** Line granularity: at the start of another source line, or back at the starting instruction. */
  private isDone(): boolean {
    if (this.granularity === 'instruction') return true;
    const rt = this.runtime;
    const program = rt.program;
    if (program === undefined || !program.hasSource || this.startLine === undefined) {
      // No source for where we started: a line step is an instruction step, unless we can reach source.
      return program === undefined || !program.hasSource || program.siteAt(rt.pc()) !== undefined;
    }
    const pc = rt.pc();
    const site = program.siteAt(pc);
    if (site === undefined) return false;
    return site.file !== this.startFile || site.line !== this.startLine || pc === this.startPc;
  }

  private stepStop(): JobResult {
    const what = this.kind === 'in' ? 'Step in' : this.kind === 'over' ? 'Step over' : 'Step out';
    return { kind: 'stop', stop: { reason: 'step', description: `${what} (${this.granularity}) to ${this.runtime.describeAddress(this.runtime.pc())}` } };
  }
}
