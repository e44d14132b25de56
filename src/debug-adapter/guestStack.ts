// SPDX-License-Identifier: MIT
// The guest's own frames for the call stack: the current instruction, then one frame per tracked CALL
// (shown at the call instruction) and per interrupt frame (shown at the interrupted instruction, under a
// separator naming the vector). With the native technique the whole machine is one layer, so this is the
// whole stack; under a VMM, composeLayeredStack adds the layers below and the VMM/host frames above.
// Every separator has a source: an interrupt separator's is the IRET frame as it sits on the guest stack.
import { LayerStack, type LayerFrame } from '../emulator/vmm/layerStack';
import { guestLayerAtCpl, LAYER_INFO, type Layer } from '../emulator/vmm/layers';
import { vectorName } from '../emulator/vmm/transitions';
import type { GuestFrame, InterruptSource } from './callStack';
import { composeLayeredStack, type StackEntry } from './layeredStack';
import { handlerListing, passThroughListing, transitionListing, type SourceListing } from './layerListings';
import type { DebugRuntime } from './runtime';
import { flagSummary } from './variables';

function codeEntry(runtime: DebugRuntime, layer: Layer, address: number, subtle: boolean): StackEntry {
  const program = runtime.program;
  const site = program?.siteAt(address);
  const label = program?.labelBelow(address);
  const name = label !== undefined ? label.name : `0x${address.toString(16).padStart(8, '0')}`;
  return {
    kind: 'code', layer, name, address,
    ...(site !== undefined ? { file: site.file, line: site.line, column: site.column } : {}),
    ...(subtle || site === undefined ? { subtle: true } : {}),
  };
}

/** The instruction that made a call returning to `returnAddress` (a CALL is 2 to 7 bytes long). */
function callSiteOf(runtime: DebugRuntime, returnAddress: number): number {
  const program = runtime.program;
  for (let length = 2; length <= 7; length++) {
    const at = (returnAddress - length) >>> 0;
    const site = program?.siteAt(at);
    if (site !== undefined && site.size === length) return at;
  }
  for (const length of [5, 2, 3, 6, 7, 4]) {
    const at = (returnAddress - length) >>> 0;
    const insn = runtime.instructionAt(at);
    if (insn !== undefined && insn.length === length && insn.mnemonic === 'call') return at;
  }
  return (returnAddress - 1) >>> 0;
}

/**
 * INT n and INT3 are traps: the frame's EIP is the next instruction (SDM Vol. 3A 6.5). When the bytes just
 * before it are `int imm8` (CD ib) or `int3` (CC), show the frame at that instruction, with its vector.
 */
function softwareInterruptBefore(runtime: DebugRuntime, returnAddress: number): { address: number; vector: number } | undefined {
  const bytes = runtime.readBytes((returnAddress - 2) >>> 0, 2);
  if (bytes.length !== 2) return undefined;
  const program = runtime.program;
  const known = (at: number, size: number): boolean => program === undefined || !program.hasSource || program.siteAt(at)?.size === size;
  if (bytes[0] === 0xcd && known((returnAddress - 2) >>> 0, 2)) return { address: (returnAddress - 2) >>> 0, vector: bytes[1]! };
  if (bytes[1] === 0xcc && known((returnAddress - 1) >>> 0, 1)) return { address: (returnAddress - 1) >>> 0, vector: 3 };
  return undefined;
}

const IRQ_BASE_HINT = 0x20;

function interruptLabel(vector: number | undefined, source: InterruptSource | undefined): string {
  if (vector === undefined) return 'interrupt or exception (recovered from the stack)';
  const hexVector = `0x${vector.toString(16)}`;
  switch (source) {
    case 'exception':
      return `exception ${vectorName(vector)} (vector ${vector})`;
    case 'software-interrupt':
      return `int ${hexVector}`;
    case 'external-interrupt': {
      // The firmware leaves the 8259A at vector 0x08 (IRQ0..7 → 0x08..0x0F), on top of the CPU exceptions.
      const clash = vector < 32 ? ` — same number as ${vectorName(vector)}: the PIC is not remapped` : '';
      const irq = vector >= IRQ_BASE_HINT && vector < IRQ_BASE_HINT + 16 ? ` (IRQ ${vector - IRQ_BASE_HINT} if the PIC is remapped to 0x20)` : '';
      return `hardware interrupt, vector ${hexVector}${irq}${clash}`;
    }
    default:
      return vector < 32 ? `exception ${vectorName(vector)} (vector ${vector})` : `interrupt vector ${hexVector}`;
  }
}

/** Exceptions that push an error code below EIP (SDM Vol. 3A 6.13, Table 6-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. */
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17, 21]);

const hex = (value: number, digits = 8): string => `0x${(value >>> 0).toString(16).padStart(digits, '0')}`;

function howKnown(frame: GuestFrame, vector: number | undefined): string {
  if (frame.exact) return 'the debugger watched the delivery';
  const scan = 'found by the stack scan (a slot holding a code address, a selector and EFLAGS with bit 1 set)';
  return vector === undefined ? `${scan}; the delivery was not seen (the VMM made it, or it ran before the debugger watched)` : `${scan}; the CPU reported delivering vector ${vector} to return there`;
}

/**
 * An interrupt separator's source: the frame the CPU pushed on delivery as it sits on the guest stack (SDM Vol. 3A
 * 6.12.1, Figure 6-4: EIP, CS, EFLAGS, and ESP, SS when the handler runs at a more privileged level), the error
 * code when the vector pushes one, and how the debugger knows (watched delivery, or found by the stack scan).
 */
function interruptFrameListing(runtime: DebugRuntime, frame: GuestFrame, label: string, vector: number | undefined, source: InterruptSource | undefined): SourceListing {
  const word = (offset: number): number | undefined => runtime.readMemory((frame.slot + offset) >>> 0, 4);
  const eip = word(0);
  const cs = word(4);
  const eflags = word(8);
  const lines = [
    `; ${label}`,
    '; read-only listing served by the HyperStep debug adapter: the interrupt frame on the guest stack.',
    '; IRET pops it; the interrupted code goes on at EIP (the frame below this separator).',
    ';',
    `how known:   ${howKnown(frame, vector)}`,
    `vector:      ${vector === undefined ? 'unknown (not seen delivered)' : `${vector} (${hex(vector, 2)}) ${source === 'external-interrupt' ? 'hardware interrupt' : source === 'software-interrupt' ? 'int n' : vectorName(vector)}`}`,
    `frame at:    ${hex(frame.slot)} (stack slot of EIP)`,
    `EIP:         ${eip === undefined ? 'unreadable' : runtime.describeAddress(eip)}`,
    `CS:          ${cs === undefined ? 'unreadable' : `${hex(cs & 0xffff, 4)} (index ${(cs & 0xffff) >> 3}, RPL ${cs & 3})`}`,
    `EFLAGS:      ${eflags === undefined ? 'unreadable' : `${hex(eflags)} ${flagSummary(eflags)}`}`,
  ];
  if (cs !== undefined && (cs & 3) > runtime.regs.cpl()) {
    const esp = word(12);
    const ss = word(16);
    lines.push(`ESP:         ${esp === undefined ? 'unreadable' : hex(esp)} (the interrupted ring's stack: a privilege change)`, `SS:          ${ss === undefined ? 'unreadable' : hex(ss & 0xffff, 4)}`);
  }
  if (vector !== undefined && ERROR_CODE_VECTORS.has(vector) && source !== 'external-interrupt' && source !== 'software-interrupt') {
    const code = runtime.readMemory((frame.slot - 4) >>> 0, 4);
    lines.push(`error code:  ${code === undefined ? 'unreadable' : hex(code)} (just below EIP; the handler pops it before IRET)`);
  }
  return { name: `interrupt frame @${hex(frame.slot)}`, text: `${lines.join('\n')}\n`, line: 1, key: `interrupt:${frame.slot}:${eip ?? -1}:${cs ?? -1}:${eflags ?? -1}:${vector ?? -1}` };
}

/** The whole call stack, top first: the guest's frames, then (under a VMM) the layers below. */
export function nativeCallStack(runtime: DebugRuntime): StackEntry[] {
  const layer = guestLayerAtCpl(runtime.regs.cpl());
  const frames: StackEntry[] = [codeEntry(runtime, layer, runtime.pc(), false)];
  for (const f of runtime.guestFrames()) {
    if (f.kind === 'interrupt') {
      const softwareInterrupt = softwareInterruptBefore(runtime, f.returnAddress);
      const vector = f.vector ?? softwareInterrupt?.vector;
      const source = f.source ?? (softwareInterrupt !== undefined ? 'software-interrupt' : undefined);
      const label = interruptLabel(vector, source);
      frames.push({ kind: 'separator', layer, label: `${label} → handler above`, listing: interruptFrameListing(runtime, f, label, vector, source) });
      frames.push(codeEntry(runtime, layer, softwareInterrupt?.address ?? f.returnAddress, softwareInterrupt === undefined));
    } else {
      frames.push(codeEntry(runtime, layer, callSiteOf(runtime, f.returnAddress), false));
    }
  }
  // Native: one layer, entered at start, so composeLayeredStack adds no separator. Under a VMM the engine's
  // layer stack adds the layers below, each shown at the guest instruction that left it (when known).
  const engineLayers = runtime.layerFrames();
  const layers = engineLayers === undefined ? new LayerStack(layer).topFirst() : [...engineLayers].reverse();
  // Layers above the running guest layer (a VMM handler, a management-OS or host hop) have no guest code:
  // each is one adapter-served frame; the guest's own frames belong to the first guest layer below them.
  const guestIndex = Math.max(0, layers.findIndex((l) => l.layer === 'guest-kernel' || l.layer === 'guest-user'));
  // A handler the VMM reflected or injected into runs above the guest's own interrupt frame: the guest
  // frames below that frame belong to the interrupted layer, so they move under the layer separator.
  let top = frames;
  let carried: StackEntry[] = [];
  const entered = layers[guestIndex]?.enteredBy;
  if (layers.length > guestIndex + 1 && (entered === 'fault-reflection' || entered === 'interrupt-injection')) {
    const cut = frames.findIndex((f) => f.kind === 'separator');
    if (cut > 0) {
      top = frames.slice(0, cut);
      carried = frames.slice(cut);
    }
  }
  return composeLayeredStack(layers.map((layerFrame, index) => {
    if (index < guestIndex) return { layerFrame, frames: [layerEntry(runtime, layerFrame)] };
    if (index === guestIndex) return { layerFrame, frames: top };
    const above = layers[index - 1]!;
    const below = above.returnAddress === undefined || index - 1 < guestIndex ? [] : [codeEntry(runtime, layerFrame.layer, above.returnAddress, true)];
    return { layerFrame, frames: index === guestIndex + 1 ? [...carried, ...below] : below };
  }), (frame) => transitionListing(frame.transitionSeq === undefined ? undefined : runtime.transition(frame.transitionSeq), frame));
}

/** The frame of a layer that runs no guest code: its handler's steps, or the hops it passes the request on. */
function layerEntry(runtime: DebugRuntime, frame: LayerFrame): StackEntry {
  const title = LAYER_INFO[frame.layer].title;
  if (frame.handler !== undefined) {
    const listing = handlerListing(frame, frame.handler);
    const next = frame.handler.stepNames[frame.handler.nextStep];
    return { kind: 'layer', layer: frame.layer, name: `${title}: ${frame.handler.handler}${next === undefined ? ' (finished)' : ` — ${next}`}`, listing };
  }
  const listing = passThroughListing(frame, frame.transitionSeq === undefined ? [] : runtime.hopPath(frame.transitionSeq));
  return { kind: 'layer', layer: frame.layer, name: `${title}: ${frame.reason}`, listing };
}
