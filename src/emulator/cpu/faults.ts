// Guest faults as data. An instruction that faults throws the CPU's one preallocated GuestFault; the run
// loop catches it before anything leaves the CPU and delivers the exception through the IDT (or reports a
// shutdown). No host exception ever escapes `run()`; nothing is allocated per fault.

/** Exception vectors (SDM Vol. 3A Table 6-1). */
export const enum Vector {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11, SS = 12, GP = 13,
  PF = 14, MF = 16, AC = 17, MC = 18, XM = 19,
}

/** Page-fault error code bits (SDM Vol. 3A 4.7). */
export const enum PageFaultCode {
  Present = 1, Write = 2, User = 4, Reserved = 8,
}

/** The thrown record. `reason` explains unsupported features (task gates…) to the debugger. */
export class GuestFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
  reason = '';
}

/** Vectors that push an error code (SDM Vol. 3A 6.13). */
export function pushesErrorCode(vector: number): boolean {
  return vector === Vector.DF || (vector >= Vector.TS && vector <= Vector.PF) || vector === Vector.AC;
}

/** Exception classes for the double-fault rules (SDM Vol. 3A Table 6-4 and 6-5). */
export function isContributory(vector: number): boolean {
  return vector === Vector.DE || (vector >= Vector.TS && vector <= Vector.GP);
}

/** True when delivering `second` while delivering `first` must become #DF (SDM Vol. 3A Table 6-5). */
export function makesDoubleFault(first: number, second: number): boolean {
  if (isContributory(first)) return isContributory(second);
  if (first === Vector.PF) return isContributory(second) || second === Vector.PF;
  return false;
}
