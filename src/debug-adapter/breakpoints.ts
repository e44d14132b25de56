// SPDX-License-Identifier: MIT
// Breakpoint bookkeeping for the runtime: source-line, function (label) and instruction breakpoints, each
// resolved to guest linear addresses, with conditions (debugger expressions over registers, flags and
// memory), hit conditions and logpoints. The CPU only knows a set of addresses (its O(1) filter in the
// debug loop); everything per breakpoint is decided here when the CPU stops at one. Internal breakpoints
// (the return address of a step over/out) share the CPU's set through reference counts.
import type { Program } from './program';

export type BreakpointKind = 'source' | 'function' | 'instruction';

export interface BreakpointRequest {
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
}

/** A breakpoint after resolution. `line` is the (possibly moved) 1-based source line. */
export interface ResolvedBreakpoint {
  readonly id: number;
  readonly verified: boolean;
  readonly message?: string;
  readonly line?: number;
  readonly address?: number;
  readonly file?: string;
}

interface Breakpoint extends BreakpointRequest {
  readonly id: number;
  readonly kind: BreakpointKind;
  readonly addresses: readonly number[];
  hits: number;
}

/** What the CPU offers for execution breakpoints. */
export interface BreakpointSink {
  setBreakpoint(linear: number): void;
  clearBreakpoint(linear: number): void;
}

/** The outcome of reaching a breakpoint address. */
export interface BreakpointDecision {
  /** Stop here (false: log and/or continue). */
  readonly stop: boolean;
  readonly ids: readonly number[];
  readonly kind?: BreakpointKind;
  /** Logpoint output and condition errors to show in the Debug Console. */
  readonly messages: readonly string[];
}

let nextBreakpointId = 1;

/** Checks a hit condition: `N` or `>=N` (from the N-th hit on), `==N`, `>N`, `<N`, `<=N`, `%N` (every N-th). */
export function hitConditionMet(hitCondition: string, hits: number): boolean | string {
  const m = /^\s*(==|=|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(hitCondition);
  if (m === null) return `hit condition '${hitCondition}' is not understood: use N, ==N, >N, >=N, <N, <=N or %N`;
  const n = Number(m[2]);
  switch (m[1]) {
    case '==': case '=': return hits === n;
    case '>': return hits > n;
    case '<': return hits < n;
    case '<=': return hits <= n;
    case '%': return n > 0 && hits % n === 0;
    default: return hits >= n;
  }
}

export class BreakpointTable {
  private readonly byFile = new Map<string, Breakpoint[]>();
  private functions: Breakpoint[] = [];
  private instructions: Breakpoint[] = [];
  /** CPU breakpoint reference counts per address (user and internal). */
  private readonly refs = new Map<number, number>();
  private readonly internal = new Set<number>();

  constructor(private readonly sink: BreakpointSink, private readonly program: () => Program | undefined) {}

  setSourceBreakpoints(file: string, requests: readonly (BreakpointRequest & { readonly line: number })[]): ResolvedBreakpoint[] {
    for (const bp of this.byFile.get(file) ?? []) this.release(bp);
    const program = this.program();
    const kept: Breakpoint[] = [];
    const resolved = requests.map((req): ResolvedBreakpoint => {
      const id = nextBreakpointId++;
      const where = program?.resolveLine(file, req.line);
      if (where === undefined) {
        return {
          id, verified: false, line: req.line,
          message: program === undefined ? 'the program is not loaded yet' : program.hasSource ? 'no instruction on or after this line' : 'the program has no source map (prebuilt binary)',
        };
      }
      const bp: Breakpoint = { ...copyRequest(req), id, kind: 'source', addresses: where.addresses, hits: 0 };
      this.acquire(bp);
      kept.push(bp);
      return { id, verified: true, line: where.line, address: where.addresses[0]!, file };
    });
    this.byFile.set(file, kept);
    return resolved;
  }

  setFunctionBreakpoints(requests: readonly (BreakpointRequest & { readonly name: string })[]): ResolvedBreakpoint[] {
    for (const bp of this.functions) this.release(bp);
    this.functions = [];
    const program = this.program();
    return requests.map((req): ResolvedBreakpoint => {
      const id = nextBreakpointId++;
      const symbol = program?.symbol(req.name.trim());
      if (symbol === undefined) return { id, verified: false, message: `no label '${req.name}' in the program` };
      const bp: Breakpoint = { ...copyRequest(req), id, kind: 'function', addresses: [symbol.address], hits: 0 };
      this.acquire(bp);
      this.functions.push(bp);
      const site = program?.siteAt(symbol.address) ?? program?.resolveLine(symbol.location?.file ?? '', symbol.location?.line ?? 0);
      const line = site === undefined ? symbol.location?.line : 'line' in site ? site.line : undefined;
      return { id, verified: true, address: symbol.address, ...(line !== undefined ? { line } : {}), ...(symbol.location ? { file: symbol.location.file } : {}) };
    });
  }

  setInstructionBreakpoints(requests: readonly (BreakpointRequest & { readonly address: number })[]): ResolvedBreakpoint[] {
    for (const bp of this.instructions) this.release(bp);
    this.instructions = [];
    return requests.map((req): ResolvedBreakpoint => {
      const id = nextBreakpointId++;
      const bp: Breakpoint = { ...copyRequest(req), id, kind: 'instruction', addresses: [req.address >>> 0], hits: 0 };
      this.acquire(bp);
      this.instructions.push(bp);
      const site = this.program()?.siteAt(req.address);
      return { id, verified: true, address: req.address >>> 0, ...(site ? { line: site.line, file: site.file } : {}) };
    });
  }

  /** A breakpoint the runtime itself needs (step over/out); idempotent per address. */
  addInternal(address: number): void {
    if (this.internal.has(address)) return;
    this.internal.add(address);
    this.ref(address, +1);
  }

  clearInternal(): void {
    for (const a of this.internal) this.ref(a, -1);
    this.internal.clear();
  }

  hasUserBreakpoints(): boolean {
    return this.refs.size > this.internal.size || [...this.refs.keys()].some((a) => !this.internal.has(a));
  }

  /** True when any breakpoint (user or internal) is at the address. */
  isBreakpointAddress(address: number): boolean {
    return this.refs.has(address >>> 0);
  }

  /**
   * Decides what a stop at `address` means: user breakpoints there count a hit when their condition
   * holds; logpoints print instead of stopping. `evaluate` runs a condition or a `{expression}`.
   */
  decide(address: number, evaluate: (expression: string) => number): BreakpointDecision {
    const ids: number[] = [];
    const messages: string[] = [];
    let stop = false;
    let kind: BreakpointKind | undefined;
    for (const bp of this.userAt(address >>> 0)) {
      if (bp.condition !== undefined && bp.condition.trim() !== '') {
        let holds: boolean;
        try {
          holds = evaluate(bp.condition) !== 0;
        } catch (e) {
          messages.push(`breakpoint condition '${bp.condition}' failed: ${e instanceof Error ? e.message : String(e)} (stopping)`);
          holds = true;
        }
        if (!holds) continue;
      }
      bp.hits++;
      if (bp.hitCondition !== undefined && bp.hitCondition.trim() !== '') {
        const met = hitConditionMet(bp.hitCondition, bp.hits);
        if (typeof met === 'string') messages.push(met);
        else if (!met) continue;
      }
      if (bp.logMessage !== undefined && bp.logMessage !== '') {
        messages.push(interpolate(bp.logMessage, evaluate));
        continue;
      }
      stop = true;
      ids.push(bp.id);
      kind ??= bp.kind;
    }
    return { stop, ids, messages, ...(kind !== undefined ? { kind } : {}) };
  }

  private userAt(address: number): Breakpoint[] {
    const out: Breakpoint[] = [];
    for (const list of this.byFile.values()) for (const bp of list) if (bp.addresses.includes(address)) out.push(bp);
    for (const bp of this.functions) if (bp.addresses.includes(address)) out.push(bp);
    for (const bp of this.instructions) if (bp.addresses.includes(address)) out.push(bp);
    return out;
  }

  private acquire(bp: Breakpoint): void {
    for (const a of bp.addresses) this.ref(a, +1);
  }

  private release(bp: Breakpoint): void {
    for (const a of bp.addresses) this.ref(a, -1);
  }

  private ref(address: number, delta: number): void {
    const a = address >>> 0;
    const count = (this.refs.get(a) ?? 0) + delta;
    if (count <= 0) {
      this.refs.delete(a);
      this.sink.clearBreakpoint(a);
    } else {
      if (!this.refs.has(a)) this.sink.setBreakpoint(a);
      this.refs.set(a, count);
    }
  }
}

function copyRequest(req: BreakpointRequest): BreakpointRequest {
  return {
    ...(req.condition !== undefined ? { condition: req.condition } : {}),
    ...(req.hitCondition !== undefined ? { hitCondition: req.hitCondition } : {}),
    ...(req.logMessage !== undefined ? { logMessage: req.logMessage } : {}),
  };
}

/** Replaces `{expression}` in a logpoint message by its value (hex); `{{` and `}}` are literal braces. */
export function interpolate(message: string, evaluate: (expression: string) => number): string {
  return message.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, expr: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    try {
      const v = evaluate(expr ?? '') >>> 0;
      return `0x${v.toString(16)}`;
    } catch (e) {
      return `<${e instanceof Error ? e.message : String(e)}>`;
    }
  });
}
