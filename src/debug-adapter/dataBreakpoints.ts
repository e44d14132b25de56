// SPDX-License-Identifier: MIT
// Data breakpoints on guest memory (DAP dataBreakpointInfo / setDataBreakpoints): a watch expression such as
// `dword [counter]`, `counter` or `0x1000` names a range of guest linear memory; the CPU's watchpoints
// (CpuCore.setWatchpoint: read, write or access, checked on every data access in the debug loop, a trap like
// a DR7 data breakpoint, SDM Vol. 3B 17.2.4) stop the guest after the accessing instruction. Conditions and
// hit counts are decided here, as for execution breakpoints.
import { hitConditionMet } from './breakpoints';

export type DataAccessType = 'read' | 'write' | 'readWrite';

/** What the CPU offers for data breakpoints. */
export interface WatchpointSink {
  setWatchpoint(linear: number, size: number, kind: 'read' | 'write' | 'access'): void;
  clearWatchpoint(linear: number, size: number): void;
}

export interface DataBreakpointRequest {
  readonly dataId: string;
  readonly accessType?: DataAccessType;
  readonly condition?: string;
  readonly hitCondition?: string;
}

interface DataBreakpoint {
  readonly id: number;
  readonly address: number;
  readonly size: number;
  readonly accessType: DataAccessType;
  readonly condition?: string;
  readonly hitCondition?: string;
  hits: number;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** "0x100200/4": a range of guest linear memory, as dataBreakpointInfo hands it out. */
export function dataIdOf(address: number, size: number): string {
  return `${hex(address)}/${size}`;
}

export function parseDataId(dataId: string): { address: number; size: number } | undefined {
  const m = /^0x([0-9a-f]{1,8})\/([1-9]\d{0,3})$/i.exec(dataId);
  return m === null ? undefined : { address: parseInt(m[1]!, 16) >>> 0, size: Number(m[2]) };
}

/** `dword [x]` / `word [x]` / `byte [x]` give the size; a bare expression is its address, a dword. */
export function watchTarget(expression: string, evaluate: (e: string) => number): { address: number; size: number } {
  const sized = /^\s*(byte|word|dword)\s*\[(.+)\]\s*$/i.exec(expression);
  if (sized !== null) return { address: evaluate(sized[2]!) >>> 0, size: { byte: 1, word: 2, dword: 4 }[sized[1]!.toLowerCase() as 'byte' | 'word' | 'dword'] };
  const bracketed = /^\s*\[(.+)\]\s*$/.exec(expression);
  return { address: evaluate(bracketed === null ? expression : bracketed[1]!) >>> 0, size: 4 };
}

let nextDataBreakpointId = 100_000;

export class DataBreakpointTable {
  private breakpoints: DataBreakpoint[] = [];

  constructor(private readonly sink: () => WatchpointSink | undefined) {}

  /** Replaces all data breakpoints (DAP semantics); returns id and verification per request. */
  set(requests: readonly DataBreakpointRequest[]): { id: number; verified: boolean; message?: string }[] {
    const sink = this.sink();
    for (const bp of this.breakpoints) sink?.clearWatchpoint(bp.address, bp.size);
    this.breakpoints = [];
    return requests.map((r) => {
      const target = parseDataId(r.dataId);
      const id = nextDataBreakpointId++;
      if (target === undefined) return { id, verified: false, message: `'${r.dataId}' is not a data breakpoint id from dataBreakpointInfo` };
      const accessType = r.accessType ?? 'write';
      const bp: DataBreakpoint = { id, ...target, accessType, ...(r.condition !== undefined ? { condition: r.condition } : {}), ...(r.hitCondition !== undefined ? { hitCondition: r.hitCondition } : {}), hits: 0 };
      this.breakpoints.push(bp);
      if (sink === undefined) return { id, verified: false, message: 'no guest is running yet' };
      // Re-arm every breakpoint: overlapping ranges keep the union of their access kinds.
      this.arm(sink);
      return { id, verified: true };
    });
  }

  private arm(sink: WatchpointSink): void {
    for (const bp of this.breakpoints) sink.setWatchpoint(bp.address, bp.size, bp.accessType === 'readWrite' ? 'access' : bp.accessType);
  }

  get size(): number {
    return this.breakpoints.length;
  }

  /**
   * The CPU stopped after an access to `address`: which breakpoints stop here (conditions and hit counts),
   * and the messages for condition errors.
   */
  decide(address: number, write: boolean, evaluate: (e: string) => number): { stop: boolean; ids: number[]; messages: string[] } {
    const ids: number[] = [];
    const messages: string[] = [];
    for (const bp of this.breakpoints) {
      if (address < bp.address || address >= bp.address + bp.size) continue;
      if (bp.accessType === 'read' && write) continue;
      if (bp.accessType === 'write' && !write) continue;
      if (bp.condition !== undefined && bp.condition.trim() !== '') {
        try {
          if (evaluate(bp.condition) === 0) continue;
        } catch (e) {
          messages.push(`data breakpoint condition '${bp.condition}': ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      bp.hits++;
      if (bp.hitCondition !== undefined && bp.hitCondition.trim() !== '') {
        const met = hitConditionMet(bp.hitCondition, bp.hits);
        if (typeof met === 'string') messages.push(met);
        else if (!met) continue;
      }
      ids.push(bp.id);
    }
    return { stop: ids.length > 0, ids, messages };
  }
}
