// SPDX-License-Identifier: MIT
// The read-only sources the adapter serves for frames that have no .asm file: a VMM (or management-OS,
// host-OS) handler listed as its named steps with the current step marked (src/emulator/vmm/handlerSteps.ts),
// a layer that only passes a request on (an I/O hop of the architecture's path), and a layer separator's
// transition in full. The session gives each listing a DAP sourceReference; the frame's line is the marked
// step, so stepping in the VMM frame moves the line like stepping through code.
import type { HandlerExecutionState } from '../emulator/vmm/handlerSteps';
import type { LayerFrame } from '../emulator/vmm/layerStack';
import { LAYER_INFO } from '../emulator/vmm/layers';
import type { Transition } from '../emulator/vmm/transitions';

/** One adapter-served text: its name in the editor tab, its text, the line to show, and a cache key. */
export interface SourceListing {
  readonly name: string;
  readonly text: string;
  /** 1-based line the frame points at. */
  readonly line: number;
  /** Same key, same text: the session reuses the sourceReference. */
  readonly key: string;
}

function outcomeText(handler: HandlerExecutionState): string {
  const o = handler.outcome;
  if (o === undefined) return 'not finished yet';
  switch (o.kind) {
    case 'resume': return 'resume the interrupted guest';
    case 'reflect': return `reflect vector ${o.vector} through the guest's virtual IDT`;
    case 'inject': return `inject vector ${o.vector}`;
    case 'forward': return `forward to ${LAYER_INFO[o.to].title}`;
    case 'stop': return `stop the guest: ${o.message}`;
  }
}

/**
 * For a hop handler of an I/O request (src/emulator/vmm/io/): the handlers it works for, innermost first, each
 * waiting at the step that handed the request on.
 */
function callerLines(handler: HandlerExecutionState): string[] {
  const lines: string[] = [];
  for (let caller = handler.caller; caller !== undefined; caller = caller.caller) {
    const waiting = caller.stepNames[caller.nextStep];
    lines.push(`; works for the ${LAYER_INFO[caller.layer].title} handler "${caller.handler}"${waiting === undefined ? '' : `, waiting at its step "${waiting}"`}`);
  }
  return lines;
}

/** "#GP handler (trap-and-emulate)" as a listing of its steps, the next one marked with ▶. */
export function handlerListing(frame: LayerFrame, handler: HandlerExecutionState): SourceListing {
  const title = LAYER_INFO[handler.layer].title;
  const done = new Set(handler.executed.map((e) => e.index));
  const width = Math.max(...handler.stepNames.map((n) => n.length), 10);
  const lines = [
    `; ${title} handler: ${handler.handler}`,
    `; entered by: ${frame.reason}${frame.enteredBy === undefined ? '' : ` (${frame.enteredBy})`}`,
    '; read-only listing served by the HyperStep debug adapter (not guest code).',
    '; Step in / step over run the marked step; step out finishes the handler and returns to the guest.',
    ...callerLines(handler),
    ';',
  ];
  const header = lines.length;
  handler.stepNames.forEach((name, index) => {
    const marker = index === handler.nextStep ? '▶' : ' ';
    const cost = handler.executed.find((e) => e.index === index)?.cost;
    const state = index === handler.nextStep ? '← next step' : done.has(index) ? `done${cost === undefined ? '' : ` (cost: ${cost})`}` : '';
    lines.push(`${marker} ${String(index + 1).padStart(2)}. ${name.padEnd(width)}  ${state}`.trimEnd());
  });
  lines.push(';', `; outcome: ${outcomeText(handler)}`);
  const finished = handler.nextStep >= handler.stepNames.length;
  const line = finished ? header + handler.stepNames.length + 2 : header + handler.nextStep + 1;
  return { name: `${handler.handler} [${title}]`, text: `${lines.join('\n')}\n`, line, key: `handler:${frame.transitionSeq ?? -1}:${handler.handler}:${handler.nextStep}:${handler.executed.length}` };
}

/** A layer that runs no named steps of its own here (an I/O hop passes through it): the path, this hop marked. */
export function passThroughListing(frame: LayerFrame, path: readonly Transition[]): SourceListing {
  const title = LAYER_INFO[frame.layer].title;
  const lines = [
    `; ${title}: ${frame.reason}`,
    '; read-only listing served by the HyperStep debug adapter: the hops of this request, the current one marked.',
    ';',
  ];
  let line = lines.length + 1;
  path.forEach((t) => {
    const current = t.seq === frame.transitionSeq;
    if (current) line = lines.length + 1;
    lines.push(`${current ? '▶' : ' '} #${t.seq} ${t.kind} ${LAYER_INFO[t.from].title} → ${LAYER_INFO[t.to].title}: ${t.reason}${t.cost > 0 ? ` (${t.cost} cycles)` : ''}`);
  });
  if (path.length === 0) lines.push(`▶ ${frame.reason}`);
  return { name: `${title} [${frame.enteredBy ?? 'layer'}]`, text: `${lines.join('\n')}\n`, line, key: `pass:${frame.transitionSeq ?? -1}` };
}

/** A separator's transition in full (kind, layers, reason, instruction, decoded details, cost). */
export function transitionListing(t: Transition | undefined, frame: LayerFrame): SourceListing {
  const lines = [`; transition #${frame.transitionSeq ?? '?'}: ${frame.reason}`];
  if (t !== undefined) {
    lines.push(`kind:        ${t.kind}`, `from → to:   ${LAYER_INFO[t.from].title} → ${LAYER_INFO[t.to].title}`, `at cycle:    ${t.cycle}`, `cost:        ${t.cost} cycles`);
    if (t.instruction !== undefined) lines.push(`instruction: ${t.instruction.text} at 0x${t.instruction.address.toString(16)} (${t.instruction.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
    for (const [k, v] of Object.entries(t.details)) lines.push(`${`${k}:`.padEnd(13)}${typeof v === 'number' && k !== 'vector' ? `${v} (0x${(v >>> 0).toString(16)})` : String(v)}`);
  } else {
    lines.push('(the transition is no longer in the log)');
  }
  return { name: `transition #${frame.transitionSeq ?? '?'}`, text: `${lines.join('\n')}\n`, line: 1, key: `transition:${frame.transitionSeq ?? frame.reason}` };
}
