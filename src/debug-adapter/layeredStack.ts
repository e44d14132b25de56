// SPDX-License-Identifier: MIT
// Turns the machine's stack of privilege layers (src/emulator/vmm/layerStack.ts) plus the frames inside
// each layer into one call stack, top first, with a separator frame (DAP presentationHint 'label') at each
// layer boundary that says what crossed it: "trap #GP: cli at CPL1 → VMM", "VM exit 30: … → VMM",
// "hypercall 18 console_io → VMM". Natively there is a single guest layer and so no separator; the VMM
// techniques feed deeper layer stacks through the same function. No DAP types: the session maps
// StackEntry to DebugProtocol.StackFrame.
import { LAYER_INFO, type Layer } from '../emulator/vmm/layers';
import type { LayerFrame } from '../emulator/vmm/layerStack';
import type { SourceListing } from './layerListings';

/** One row of the call stack as the runtime describes it. */
export type StackEntry =
  | {
      readonly kind: 'code';
      readonly layer: Layer;
      /** Function-like name: the label the address is in, or the address. */
      readonly name: string;
      /** Linear address of the instruction the frame is at. */
      readonly address: number;
      readonly file?: string;
      readonly line?: number;
      readonly column?: number;
      /** Shown dimmed (no source, or an interrupted frame). */
      readonly subtle?: boolean;
    }
  | {
      /** A frame of a layer without guest code (VMM, management OS, host): an adapter-served listing. */
      readonly kind: 'layer';
      readonly layer: Layer;
      readonly name: string;
      readonly listing: SourceListing;
    }
  | { readonly kind: 'separator'; readonly layer: Layer; readonly label: string; readonly listing?: SourceListing };

/** The frames running inside one layer, top first. */
export interface LayerSegment {
  readonly layerFrame: LayerFrame;
  readonly frames: readonly StackEntry[];
}

/** Words naming each kind of boundary, unless the transition's reason already says it (see STEMS). */
const KIND_WORDS: Readonly<Record<string, string>> = {
  trap: 'trap',
  'fault-reflection': 'fault reflected',
  'interrupt-injection': 'interrupt injected',
  hypercall: '',
  'world-switch': '',
  'io-hop': 'I/O',
  resume: 'resume',
  'vm-exit': '',
  'vm-entry': 'VM entry',
  translation: 'BT',
};

/** The separator text for entering `frame` (its transition's reason, and where it went). */
const STEMS: Readonly<Record<string, string>> = { 'fault-reflection': 'reflect', 'interrupt-injection': 'inject', 'vm-entry': 'vm entry', translation: 'bt' };

export function separatorLabel(frame: LayerFrame): string {
  const word = frame.enteredBy === undefined ? '' : KIND_WORDS[frame.enteredBy] ?? frame.enteredBy;
  const lower = frame.reason.toLowerCase();
  const stem = frame.enteredBy === undefined ? undefined : STEMS[frame.enteredBy];
  const said = lower.startsWith(word.toLowerCase()) || (stem !== undefined && lower.includes(stem));
  const reason = word !== '' && !said ? `${word} ${frame.reason}` : frame.reason;
  return `${reason} → ${LAYER_INFO[frame.layer].title}`;
}

/**
 * Interleaves per-layer frames with separators. `segments` are top (running layer) first; a separator is
 * placed above every segment whose layer frame was entered by a transition (every one but the bottom).
 */
export function composeLayeredStack(segments: readonly LayerSegment[], listingOf?: (frame: LayerFrame) => SourceListing): StackEntry[] {
  const out: StackEntry[] = [];
  for (const segment of segments) {
    out.push(...segment.frames);
    if (segment.layerFrame.enteredBy !== undefined) {
      const listing = listingOf?.(segment.layerFrame);
      out.push({ kind: 'separator', layer: segment.layerFrame.layer, label: separatorLabel(segment.layerFrame), ...(listing === undefined ? {} : { listing }) });
    }
  }
  return out;
}
