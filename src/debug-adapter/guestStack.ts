// SPDX-License-Identifier: MIT
// The guest's own frames for the call stack: the current instruction, then one frame per tracked CALL
// (shown at the call instruction) and per interrupt frame (shown at the interrupted instruction, under a
// separator naming the vector). With the native technique the whole machine is one layer, so this is the
// whole stack; under a VMM, composeLayeredStack adds the layers below and the VMM/host frames above.
import { LayerStack, type LayerFrame } from '../emulator/vmm/layerStack';
import { guestLayerAtCpl, LAYER_INFO, type Layer } from '../emulator/vmm/layers';
import { vectorName } from '../emulator/vmm/transitions';
import type { InterruptSource } from './callStack';
import { composeLayeredStack, type StackEntry } from './layeredStack';
import { handlerListing, passThroughListing, transitionListing } from './layerListings';
import type { DebugRuntime } from './runtime';

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

/** The whole call stack, top first: the guest's frames, then (under a VMM) the layers below. */
export function nativeCallStack(runtime: DebugRuntime): StackEntry[] {
  const layer = guestLayerAtCpl(runtime.regs.cpl());
  const frames: StackEntry[] = [codeEntry(runtime, layer, runtime.pc(), false)];
  for (const f of runtime.guestFrames()) {
    if (f.kind === 'interrupt') {
      const softwareInterrupt = softwareInterruptBefore(runtime, f.returnAddress);
      const vector = f.vector ?? softwareInterrupt?.vector;
      const source = f.source ?? (softwareInterrupt !== undefined ? 'software-interrupt' : undefined);
      frames.push({ kind: 'separator', layer, label: `${interruptLabel(vector, source)} → handler above` });
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
