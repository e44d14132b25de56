// The run loop of a multiprocessor machine: like Machine.run for one CPU (slices that end at the next device
// deadline, HLT skipping virtual time), but the slice goes to the CPU the round-robin scheduler picks
// (smpScheduler.ts) and lasts at most the rest of its quantum. A CPU that halts ends its turn; the machine
// stops for good only when no CPU can ever run again. Breakpoints and other debug stops leave the scheduler
// on the CPU that stopped (`machine.smp.current`), so resuming continues that CPU's turn exactly.
import type { Machine, MachineStop } from './machine';
import { CpuRunState, SMP_QUANTUM } from './smpScheduler';

/** `stepCpu`: return as soon as that CPU has retired one instruction (the others take their turns meanwhile). */
export function runMultiprocessor(machine: Machine, budget: number, debug: boolean, stepCpu?: number): MachineStop {
  const smp = machine.smp;
  const cpus = machine.cpus;
  const apic = machine.devices.apic!;
  const cpi = machine.recipe.cyclesPerInstruction;
  const start = machine.retired();
  const stepFrom = stepCpu === undefined ? 0 : cpus[stepCpu]!.retired();
  // Only the CPU the debugger resumes (current when the call starts, in its first slice) steps over a breakpoint
  // at its instruction; a CPU whose turn comes round again stops at one it arrived at before.
  const resumingCpu = smp.current;
  let resumed = false;
  let fruitlessWakeups = 0;
  let retiredAtLastIdle = -1;
  for (;;) {
    const retired = machine.retired();
    const left = budget - (retired - start);
    if (left <= 0) return { reason: 'budget', detail: `ran ${budget} instructions` };
    if (stepCpu !== undefined && cpus[stepCpu]!.retired() > stepFrom) return { reason: 'budget', detail: `CPU ${stepCpu} stepped` };
    const limit = machine.limits.instructionLimit;
    if (limit !== undefined && retired >= limit) {
      return machine.finish({ reason: 'instruction-limit', detail: `stopped after ${limit} instructions (instruction limit)` });
    }
    const now = machine.now();
    const deadline = machine.nextDeadline();
    if (deadline <= now) {
      machine.advanceDevices(now);
      continue;
    }
    const index = smp.pick();
    if (index < 0) {
      // No CPU can run: skip to the next device event if some halted CPU could be woken by it.
      const wakeable = cpus.some((_, i) => smp.waitingForInterrupt(i));
      if (!wakeable || deadline === Infinity) return machine.finish(allStopped(machine));
      fruitlessWakeups = retired === retiredAtLastIdle ? fruitlessWakeups + 1 : 0;
      retiredAtLastIdle = retired;
      if (fruitlessWakeups >= 3) {
        return machine.finish({
          reason: 'halt',
          detail: 'every CPU waits for an interrupt, but every interrupt that arrives is masked or blocked (missing unmask or EOI?)',
        });
      }
      machine.skipIdleTo(deadline);
      machine.advanceDevices(machine.now());
      continue;
    }
    apic.current = index;
    const cpu = cpus[index]!;
    let slice = Math.min(left, SMP_QUANTUM - smp.quantumUsed);
    if (deadline !== Infinity) slice = Math.min(slice, Math.max(1, Math.ceil((deadline - now) / cpi)));
    if (limit !== undefined) slice = Math.min(slice, limit - retired);
    if (stepCpu === index) slice = 1;
    const before = cpu.retired();
    const cpuStop = cpu.run(slice, debug, !resumed && index === resumingCpu);
    resumed = true;
    smp.quantumUsed += cpu.retired() - before;
    machine.advanceDevices(machine.now());
    const pending = machine.takePendingStop();
    if (pending !== null) {
      return pending.reason === 'guest-exit' || pending.reason === 'shutdown' || pending.reason === 'output-limit' ? machine.finish(pending) : pending;
    }
    if (machine.takeRescheduleRequest()) {
      // The stop request went to the CPU current when the deadline moved (maybe another one, e.g. after loadState):
      // withdraw it everywhere; if it is why this CPU stopped, just recompute the slice.
      for (const c of cpus) c.cancelStop();
      if (cpuStop === 'exit') continue;
    }
    switch (cpuStop) {
      case 'budget':
        continue;
      case 'halt':
        smp.endTurn(); // halted (with IF=0 it stays so until an INIT; with IF=1 until an interrupt)
        continue;
      case 'exit':
        // A stop request without a device reason: a CPU that sent INIT to itself, or the embedding's event.
        if (smp.runState[index] !== CpuRunState.RUNNING) continue;
        return { reason: 'cpu-event', detail: 'the CPU stopped on an event the embedding asked for' };
      case 'shutdown':
        return machine.finish({ reason: 'shutdown', detail: `triple fault: CPU ${index} shut down (a fault while delivering #DF)` });
      case 'breakpoint':
        return { reason: 'breakpoint', detail: `execution breakpoint (CPU ${index})` };
      case 'watchpoint':
        return { reason: 'watchpoint', detail: `data breakpoint (CPU ${index})` };
      case 'magic-breakpoint':
        return { reason: 'magic-breakpoint', detail: `magic breakpoint (xchg bx, bx) on CPU ${index}` };
    }
  }
}

function allStopped(machine: Machine): MachineStop {
  const states = machine.cpus.map((cpu, i) =>
    machine.smp.runState[i] !== CpuRunState.RUNNING ? `CPU ${i} waits for a start-up IPI` : cpu.interruptsEnabled() ? `CPU ${i} waits for an interrupt no device will raise` : `CPU ${i} halted with interrupts disabled`);
  return { reason: 'halt', detail: `no CPU can run again: ${states.join('; ')}` };
}
