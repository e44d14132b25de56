// The guest-state side of the paravirtual iret hypercall and of Xen's failsafe callback (docs/vmm/
// hypercall-abi.md): reading and checking the {EAX, EIP, CS, EFLAGS [, ESP, SS]} frame on the ring-1 stack and
// loading it, or entering the failsafe handler when the frame is bad. Only the ABI's flat selectors are ever
// loaded, so a guest can never return into a VMM segment. The engine records the transitions and costs.

import { PvSelectors } from '../hypercalls';
import type { CpuGuestAccess } from '../trapAndEmulate/cpuGuestAccess';
import { EflagsBit, SegmentRegister } from '../trapAndEmulate/guestAccess';
import type { SharedInfoPage } from './sharedInfo';

export type IretOutcome = { readonly kind: 'returned'; readonly toUser: boolean; readonly eip: number } | { readonly kind: 'invalid'; readonly problem: string };

/** Loads the iret frame at SS:ESP; the event mask becomes !EFLAGS.IF. Nothing changes when the frame is invalid. */
export function applyIretFrame(g: CpuGuestAccess, shared: SharedInfoPage): IretOutcome {
  const base = g.getSegmentBase(SegmentRegister.SS) + g.getGpr(4);
  const [eax, eip, cs, eflags, esp, ss] = [0, 4, 8, 12, 16, 20].map((o) => g.readLinear((base + o) >>> 0, 4));
  if (eax === undefined || eip === undefined || cs === undefined || eflags === undefined) return { kind: 'invalid', problem: 'the frame is not readable' };
  // Frames the VMM itself built show the kernel's CS as the guest believes it (RPL 0, ring compression hidden).
  const selector = (cs & 0xfffc) === (PvSelectors.FLAT_RING1_CS & 0xfffc) && (cs & 3) <= 1 ? PvSelectors.FLAT_RING1_CS : cs & 0xffff;
  if (selector !== PvSelectors.FLAT_RING1_CS && selector !== PvSelectors.FLAT_RING3_CS) {
    return { kind: 'invalid', problem: `CS 0x${selector.toString(16)} is not FLAT_RING1_CS or FLAT_RING3_CS` };
  }
  const toUser = selector === PvSelectors.FLAT_RING3_CS;
  if (toUser && (esp === undefined || ss === undefined || (ss & 0xffff) !== PvSelectors.FLAT_RING3_DS)) {
    return { kind: 'invalid', problem: 'a return to ring 3 needs SS = FLAT_RING3_DS and ESP' };
  }
  if (!g.loadSegment(SegmentRegister.CS, selector)) return { kind: 'invalid', problem: `CS 0x${selector.toString(16)} does not load` };
  if (toUser) {
    g.loadSegment(SegmentRegister.SS, PvSelectors.FLAT_RING3_DS);
    g.setGpr(4, esp!);
    for (const segment of [SegmentRegister.DS, SegmentRegister.ES]) {
      if ((g.getSelector(segment) & 3) !== 3) g.loadSegment(segment, PvSelectors.FLAT_RING3_DS);
    }
  } else {
    g.setGpr(4, (g.getGpr(4) + 16) | 0);
  }
  g.setGpr(0, eax);
  g.setEip(eip);
  g.setEflags(((eflags & ~(EflagsBit.IOPL | EflagsBit.VM)) | EflagsBit.IF) >>> 0);
  shared.mask = (eflags & EflagsBit.IF) !== 0 ? 0 : 1;
  return { kind: 'returned', toUser, eip };
}

/**
 * Xen's failsafe callback: the frame stays where it is (ESP still points at it, so the handler can inspect or
 * repair it), events are masked, and the handler runs in ring 1. Returns false if the ring-1 segments do not load.
 */
export function enterFailsafe(g: CpuGuestAccess, shared: SharedInfoPage, handler: number): boolean {
  if (!g.loadSegment(SegmentRegister.CS, PvSelectors.FLAT_RING1_CS) || !g.loadSegment(SegmentRegister.SS, PvSelectors.FLAT_RING1_DS)) return false;
  g.setEip(handler);
  shared.mask = 1;
  return true;
}
