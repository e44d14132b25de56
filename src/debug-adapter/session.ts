// SPDX-License-Identifier: MIT
// The DAP session: translates requests into DebugRuntime calls and runtime events into DAP events, and
// nothing else. Each request has one handler `(args) => Promise<body>` that returns its result or throws an
// AdapterError; one wrapper (dispatchRequest) sends the response or the error response, so a malformed,
// out-of-order or unknown request gets an error and the adapter lives on. Positions are converted to the
// client's line/column base only here. Never imports 'vscode'; never writes to stdout (it carries DAP).
import { DebugSession, Event, ExitedEvent, InitializedEvent, OutputEvent, Response, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { EXCEPTION_MNEMONICS } from '../emulator/vmm/transitions';
import { isConsoleCommand, runConsoleCommand } from './consoleCommands';
import { completionTargets } from './completions';
import { dataIdOf, watchTarget, type DataAccessType } from './dataBreakpoints';
import { disassembleAround, toDapInstructions } from './disassembly';
import { AdapterError, ErrorCode, requireArgs, requireInteger, requireString } from './errors';
import { basenameOf, type FileAccess } from './fileAccess';
import { nativeCallStack } from './guestStack';
import type { StackEntry } from './layeredStack';
import { validateLaunchArgs, type LaunchConfig } from './launchArgs';
import { DebugRuntime, defaultScheduler, RuntimeStateError, type Scheduler } from './runtime';
import { VariableStore } from './variables';
import type { SourceListing } from './layerListings';
import { parseVmmFilter, VMM_EVENT_FILTER_IDS, VMM_EVENT_FILTERS, type VmmEventFilter, type VmmEventFilterId } from './vmmEvents';
import { SESSION_INFO_EVENT } from './viewProtocol';
import { serialHandlers } from './serialRequests';
import { ViewRequests } from './viewRequests';
import { cpuOfThread, FRAME_ID_STRIDE, threadIdOf, threadName } from './vcpuFocus';

/** vCPU 0's thread (one DAP thread per vCPU: thread id = CPU index + 1, vcpuFocus.ts). */
export const VCPU0_THREAD_ID = 1;

export interface SessionOptions {
  readonly files: FileAccess;
  readonly scheduler?: Scheduler;
}

type Handler = (args: Record<string, unknown>) => Promise<unknown>;

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Parses a memory reference ("0x100000", "1048576", or an expression result) to a linear address. */
function parseMemoryReference(reference: string): number {
  const text = reference.trim();
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value < 0 || value > 0xffffffff) throw new AdapterError(ErrorCode.BadArguments, `'${reference}' is not a memory reference (expected 0x… address)`);
  return value >>> 0;
}

/** "13", "#GP, #PF", "13 14" → vectors; empty → all. */
export function parseVectorList(condition: string | undefined): Set<number> {
  const set = new Set<number>();
  if (condition === undefined || condition.trim() === '') return set;
  for (const part of condition.split(/[\s,]+/).filter((p) => p !== '')) {
    const byName = EXCEPTION_MNEMONICS.findIndex((m) => m.toLowerCase() === part.toLowerCase());
    const n = byName >= 0 ? byName : /^0x[0-9a-f]+$/i.test(part) ? parseInt(part, 16) : /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 31) throw new AdapterError(ErrorCode.BadArguments, `'${part}' is not an exception vector (0..31 or a name such as #GP, #PF, #UD)`);
    set.add(n);
  }
  return set;
}

export class HyperStepDebugSession extends DebugSession {
  private readonly runtime: DebugRuntime;
  private readonly variables: VariableStore;
  private readonly handlers: Record<string, Handler>;
  /** The views' custom requests (viewRequests.ts) and the sessionInfo event body. */
  private readonly views: ViewRequests;
  private launchConfig: LaunchConfig | undefined;
  private configurationDone = false;
  private linesStartAt1 = true;
  private columnsStartAt1 = true;
  /** Call-stack rows of the current stop per vCPU (frame id = CPU × FRAME_ID_STRIDE + index). */
  private framesByCpu = new Map<number, StackEntry[]>();
  /** Adapter-served sources (VMM handler listings, transitions) by sourceReference, and by listing key. */
  private readonly listings = new Map<number, SourceListing>();
  private readonly listingRefs = new Map<string, number>();
  private nextListingRef = 1;
  /** Work to do right after the current response has been sent (events that must follow it). */
  private afterResponse: (() => void)[] = [];

  constructor(options: SessionOptions) {
    super();
    this.runtime = new DebugRuntime(options.files, {
      stopped: (info) => {
        this.variables.reset();
        this.framesByCpu.clear();
        // All-stop: every vCPU stopped; the event names the one that caused the stop (or the focused one).
        const event = new StoppedEvent(info.reason, threadIdOf(this.runtime.vcpus.focused)) as DebugProtocol.StoppedEvent;
        event.body.description = info.description;
        event.body.allThreadsStopped = true;
        if (info.exception !== undefined) event.body.text = info.exception.name;
        if (info.hitBreakpointIds !== undefined) event.body.hitBreakpointIds = [...info.hitBreakpointIds];
        this.sendEvent(event);
        this.sendEvent(new Event(SESSION_INFO_EVENT, this.views.sessionInfo()));
      },
      output: (text, category) => this.sendEvent(new OutputEvent(text, category)),
      exited: (info) => {
        this.sendEvent(new OutputEvent(`guest ended: ${info.description} (exit status ${info.exitCode})\n`, 'console'));
        this.sendEvent(new ExitedEvent(info.exitCode));
        this.sendEvent(new TerminatedEvent());
      },
    }, options.scheduler ?? defaultScheduler);
    this.variables = new VariableStore(this.runtime);
    this.views = new ViewRequests(this.runtime, () => this.launchConfig);
    this.handlers = this.buildHandlers();
  }

  /** The single dispatch point: look up the handler, run it, send its body or its error. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const response: DebugProtocol.Response = new Response(request);
    const handler = Object.prototype.hasOwnProperty.call(this.handlers, request.command) ? this.handlers[request.command] : undefined;
    const run = async (): Promise<unknown> => {
      if (handler === undefined) throw new AdapterError(ErrorCode.UnknownRequest, `unknown request '${request.command}'`);
      const args = request.arguments ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new AdapterError(ErrorCode.BadArguments, `'${request.command}' arguments must be an object`);
      return handler(args as Record<string, unknown>);
    };
    run().then(
      (body) => {
        if (body !== undefined) response.body = body;
        this.sendResponse(response);
      },
      (e: unknown) => this.sendFailure(response, e),
    ).finally(() => {
      const work = this.afterResponse;
      this.afterResponse = [];
      for (const w of work) w();
    });
  }

  private sendFailure(response: DebugProtocol.Response, e: unknown): void {
    const code = e instanceof AdapterError ? e.code : e instanceof RuntimeStateError ? ErrorCode.WrongState : ErrorCode.Internal;
    const message = e instanceof Error ? e.message : String(e);
    response.success = false;
    response.message = message;
    response.body = { error: { id: code, format: message.replace(/\{/g, '(').replace(/\}/g, ')'), showUser: code !== ErrorCode.WrongState } };
    this.sendResponse(response);
  }

  private clientLine(line: number): number {
    return this.linesStartAt1 ? line : line - 1;
  }

  private debuggerLine(line: number): number {
    return this.linesStartAt1 ? line : line + 1;
  }

  private clientColumn(column: number): number {
    return this.columnsStartAt1 ? column : column - 1;
  }

  private source(file: string): DebugProtocol.Source {
    return { name: basenameOf(file), path: file };
  }

  private requireStopped(): void {
    if (!this.runtime.isLaunched) throw new AdapterError(ErrorCode.WrongState, 'no guest is running: launch first');
    if (this.runtime.isRunning) throw new AdapterError(ErrorCode.WrongState, 'the guest is running: pause it first');
    if (this.runtime.hasEnded) throw new AdapterError(ErrorCode.WrongState, 'the guest has ended');
  }

  private buildHandlers(): Record<string, Handler> {
    const rt = this.runtime;
    return {
      ...this.views.handlers(),
      ...serialHandlers(this.runtime),
      initialize: async (args) => {
        if (typeof args['linesStartAt1'] === 'boolean') this.linesStartAt1 = args['linesStartAt1'];
        if (typeof args['columnsStartAt1'] === 'boolean') this.columnsStartAt1 = args['columnsStartAt1'];
        if (args['pathFormat'] !== undefined && args['pathFormat'] !== 'path') throw new AdapterError(ErrorCode.BadArguments, 'HyperStep only supports native paths (pathFormat "path")');
        return capabilities();
      },
      launch: async (args) => {
        const checked = validateLaunchArgs(args);
        if ('problems' in checked) throw new AdapterError(ErrorCode.BadLaunch, `Cannot launch: ${checked.problems.join('; ')}`);
        for (const note of checked.notes) this.sendEvent(new OutputEvent(`${note}\n`, 'console'));
        // Several vCPUs: no recording (stepBack/reverseContinue refuse with the reason; refuseReverseOnSmp).
        rt.reverse.configure(checked.config.vcpus > 1 ? { ...args, reverseHistoryMB: 0 } : args, checked.config.technique);
        const error = await rt.launch(checked.config);
        if (error !== undefined) throw new AdapterError(ErrorCode.BadLaunch, error);
        this.launchConfig = checked.config;
        const under = checked.config.technique === 'native' ? 'natively (no VMM)' : `under ${checked.config.technique} (${checked.config.architecture} VMM)`;
        this.sendEvent(new OutputEvent(`HyperStep: ${checked.config.program} booted ${under} at entry ${hex8(rt.pc())}\n`, 'console'));
        this.afterResponse.push(() => this.sendEvent(new InitializedEvent()));
        this.afterResponse.push(() => this.sendEvent(new Event(SESSION_INFO_EVENT, this.views.sessionInfo())));
        return undefined;
      },
      attach: async () => {
        throw new AdapterError(ErrorCode.Unsupported, 'HyperStep cannot attach: use a launch configuration');
      },
      configurationDone: async () => {
        if (this.launchConfig === undefined) throw new AdapterError(ErrorCode.WrongState, 'configurationDone before a successful launch');
        if (this.configurationDone) throw new AdapterError(ErrorCode.WrongState, 'configurationDone was already received');
        this.configurationDone = true;
        const stopOnEntry = this.launchConfig.stopOnEntry;
        this.afterResponse.push(() => rt.start(stopOnEntry));
        return undefined;
      },
      threads: async () => {
        const count = rt.vcpus.count;
        return { threads: Array.from({ length: count }, (_, cpu) => new Thread(threadIdOf(cpu), threadName(cpu, count))) };
      },
      setBreakpoints: async (args) => {
        const source = requireArgs<{ path?: unknown }>(args, 'source');
        const path = requireString(source, 'path', 'source.path');
        const list = args['breakpoints'] === undefined ? [] : args['breakpoints'];
        if (!Array.isArray(list)) throw new AdapterError(ErrorCode.BadArguments, "'breakpoints' must be an array");
        const requests = list.map((b: Record<string, unknown>, i) => ({
          line: this.debuggerLine(requireInteger(b, 'line', `breakpoints[${i}].line`)),
          ...optionalStrings(b, ['condition', 'hitCondition', 'logMessage']),
        }));
        const resolved = rt.setSourceBreakpoints(path, requests);
        return { breakpoints: resolved.map((r) => this.toDapBreakpoint(r)) };
      },
      setFunctionBreakpoints: async (args) => {
        const list = args['breakpoints'];
        if (!Array.isArray(list)) throw new AdapterError(ErrorCode.BadArguments, "'breakpoints' must be an array");
        const requests = list.map((b: Record<string, unknown>, i) => ({ name: requireString(b, 'name', `breakpoints[${i}].name`), ...optionalStrings(b, ['condition', 'hitCondition']) }));
        return { breakpoints: rt.breakpoints.setFunctionBreakpoints(requests).map((r) => this.toDapBreakpoint(r)) };
      },
      setInstructionBreakpoints: async (args) => {
        const list = args['breakpoints'];
        if (!Array.isArray(list)) throw new AdapterError(ErrorCode.BadArguments, "'breakpoints' must be an array");
        const requests = list.map((b: Record<string, unknown>, i) => {
          const offset = b['offset'] === undefined ? 0 : requireInteger(b, 'offset', `breakpoints[${i}].offset`);
          return { address: (parseMemoryReference(requireString(b, 'instructionReference', `breakpoints[${i}].instructionReference`)) + offset) >>> 0, ...optionalStrings(b, ['condition', 'hitCondition']) };
        });
        return { breakpoints: rt.breakpoints.setInstructionBreakpoints(requests).map((r) => this.toDapBreakpoint(r)) };
      },
      setExceptionBreakpoints: async (args) => {
        const filters = Array.isArray(args['filters']) ? (args['filters'] as unknown[]) : [];
        const options = Array.isArray(args['filterOptions']) ? (args['filterOptions'] as Record<string, unknown>[]) : [];
        const ids = new Map<string, string | undefined>();
        for (const f of filters) if (typeof f === 'string') ids.set(f, undefined);
        for (const o of options) if (typeof o['filterId'] === 'string') ids.set(o['filterId'], typeof o['condition'] === 'string' ? o['condition'] : undefined);
        for (const id of ids.keys()) if (id !== 'guest-exception' && id !== 'triple-fault' && !VMM_EVENT_FILTER_IDS.has(id)) throw new AdapterError(ErrorCode.BadArguments, `unknown exception filter '${id}'`);
        const vectors = ids.has('guest-exception') ? parseVectorList(ids.get('guest-exception')) : undefined;
        const vmmEvents: VmmEventFilter[] = [];
        for (const [id, condition] of ids) {
          if (!VMM_EVENT_FILTER_IDS.has(id)) continue;
          const parsed = parseVmmFilter(id as VmmEventFilterId, condition);
          if (typeof parsed === 'string') throw new AdapterError(ErrorCode.BadArguments, `exception filter '${id}': ${parsed}`);
          vmmEvents.push(parsed);
        }
        rt.setExceptionFilters({ ...(vectors !== undefined ? { guestException: vectors } : {}), tripleFault: ids.has('triple-fault'), ...(vmmEvents.length > 0 ? { vmmEvents } : {}) });
        return { breakpoints: [...ids.keys()].map(() => ({ verified: true })) };
      },
      dataBreakpointInfo: async (args) => {
        const name = requireString(args, 'name', 'name');
        if (args['variablesReference'] !== undefined && args['variablesReference'] !== 0) {
          return { dataId: null, description: `${name} is a register: data breakpoints watch guest memory (add a watch such as "dword [${name}]")` };
        }
        if (!rt.isLaunched) return { dataId: null, description: 'launch the guest first' };
        const target = args['asAddress'] === true
          ? { address: parseMemoryReference(name), size: typeof args['bytes'] === 'number' ? Math.min(Math.max(args['bytes'], 1), 4096) : 4 }
          : watchTarget(name, (e) => rt.evaluate(e));
        const label = rt.describeAddress(target.address);
        return { dataId: dataIdOf(target.address, target.size), description: `${target.size} byte${target.size === 1 ? '' : 's'} at ${label}`, accessTypes: ['read', 'write', 'readWrite'], canPersist: false };
      },
      setDataBreakpoints: async (args) => {
        const list = args['breakpoints'];
        if (!Array.isArray(list)) throw new AdapterError(ErrorCode.BadArguments, "'breakpoints' must be an array");
        const requests = list.map((b: Record<string, unknown>, i) => {
          const accessType = b['accessType'];
          if (accessType !== undefined && accessType !== 'read' && accessType !== 'write' && accessType !== 'readWrite') throw new AdapterError(ErrorCode.BadArguments, `breakpoints[${i}].accessType must be read, write or readWrite`);
          return { dataId: requireString(b, 'dataId', `breakpoints[${i}].dataId`), ...(accessType !== undefined ? { accessType: accessType as DataAccessType } : {}), ...optionalStrings(b, ['condition', 'hitCondition']) };
        });
        return { breakpoints: rt.dataBreakpoints.set(requests) };
      },
      breakpointLocations: async (args) => {
        const source = requireArgs<{ path?: unknown }>(args, 'source');
        const path = requireString(source, 'path', 'source.path');
        const line = this.debuggerLine(requireInteger(args, 'line', 'line'));
        const endLine = args['endLine'] === undefined ? line : this.debuggerLine(requireInteger(args, 'endLine', 'endLine'));
        const lines = rt.program?.instructionLines(path, line, endLine) ?? [];
        return { breakpoints: lines.map((l) => ({ line: this.clientLine(l) })) };
      },
      continue: async () => {
        this.variables.reset();
        rt.resume();
        return { allThreadsContinued: true };
      },
      next: async (args) => this.step('over', args),
      stepBack: async (args) => {
        this.refuseReverseOnSmp();
        this.variables.reset();
        rt.reverseRun(rt.reverse.stepBack(args['granularity'] === 'instruction' ? 'instruction' : 'line'));
        return undefined;
      },
      reverseContinue: async () => {
        this.refuseReverseOnSmp();
        this.variables.reset();
        rt.reverseRun(rt.reverse.reverseContinue());
        return undefined;
      },
      stepIn: async (args) => this.step('in', args),
      stepOut: async (args) => this.step('out', args),
      pause: async () => {
        if (!rt.isLaunched) throw new AdapterError(ErrorCode.WrongState, 'no guest is running: launch first');
        rt.pause();
        return undefined;
      },
      stackTrace: async (args) => {
        this.requireStopped();
        const cpu = this.focusThread(args['threadId']);
        const frames = this.framesOf(cpu);
        const start = args['startFrame'] === undefined ? 0 : requireInteger(args, 'startFrame', 'startFrame');
        const levels = args['levels'] === undefined || args['levels'] === 0 ? frames.length : requireInteger(args, 'levels', 'levels');
        if (start < 0 || levels < 0) throw new AdapterError(ErrorCode.BadArguments, "'startFrame' and 'levels' must not be negative");
        const stackFrames = frames.slice(start, start + levels).map((entry, k) => this.toDapFrame(entry, cpu * FRAME_ID_STRIDE + start + k));
        return { stackFrames, totalFrames: frames.length };
      },
      scopes: async (args) => {
        this.requireStopped();
        const frameId = requireInteger(args, 'frameId', 'frameId');
        const entry = this.frameEntry(frameId);
        return { scopes: this.variables.scopes(entry?.kind === 'layer' ? entry.layer : undefined) };
      },
      variables: async (args) => {
        const reference = requireInteger(args, 'variablesReference', 'variablesReference');
        // A view refreshing just after a resume asks while the guest runs: nothing to show, not an error.
        if (rt.isLaunched && rt.isRunning) return { variables: [] };
        this.requireStopped();
        return { variables: this.variables.variables(reference) };
      },
      setVariable: async (args) => {
        this.requireStopped();
        const body = this.variables.setVariable(
          requireInteger(args, 'variablesReference', 'variablesReference'), requireString(args, 'name', 'name'), requireString(args, 'value', 'value'),
        );
        this.framesByCpu.clear();
        rt.reverse.noteStateEdit(); // the edited state is what this instruction count means from now on
        return body;
      },
      evaluate: async (args) => {
        const expression = requireString(args, 'expression', 'expression');
        this.requireStopped();
        if (typeof args['frameId'] === 'number') this.frameEntry(args['frameId']); // evaluate on that frame's vCPU
        if (args['context'] === 'repl' && isConsoleCommand(expression)) return { result: runConsoleCommand(rt, expression), variablesReference: 0 };
        const value = rt.evaluate(expression);
        const signed = value | 0;
        const text = `${hex8(value)} (${value}${signed < 0 ? ` / ${signed}` : ''})`;
        return { result: text, type: 'dword', variablesReference: 0, memoryReference: hex8(value) };
      },
      completions: async (args) => {
        const text = requireString(args, 'text', 'text');
        const column = requireInteger(args, 'column', 'column');
        const cursor = this.columnsStartAt1 ? column - 1 : column;
        return {
          targets: completionTargets(rt, text, cursor).map((t) => ({
            label: t.label, type: t.type, start: this.clientColumn(t.start + 1), length: t.length, ...(t.detail === undefined ? {} : { detail: t.detail }),
          })),
        };
      },
      readMemory: async (args) => {
        this.requireStopped();
        const base = parseMemoryReference(requireString(args, 'memoryReference', 'memoryReference'));
        const offset = args['offset'] === undefined ? 0 : requireInteger(args, 'offset', 'offset');
        const count = requireInteger(args, 'count', 'count');
        if (count < 0 || count > 1 << 20) throw new AdapterError(ErrorCode.BadArguments, "'count' must be between 0 and 1 MiB");
        const address = (base + offset) >>> 0;
        const bytes = rt.readBytes(address, count);
        return { address: hex8(address), data: toBase64(bytes), ...(bytes.length < count ? { unreadableBytes: count - bytes.length } : {}) };
      },
      writeMemory: async (args) => {
        this.requireStopped();
        const base = parseMemoryReference(requireString(args, 'memoryReference', 'memoryReference'));
        const offset = args['offset'] === undefined ? 0 : requireInteger(args, 'offset', 'offset');
        const data = fromBase64(requireString(args, 'data', 'data'));
        const written = rt.writeBytes((base + offset) >>> 0, data);
        if (written === 0 && data.length > 0) throw new AdapterError(ErrorCode.BadArguments, `cannot write at ${hex8(base + offset)}: not mapped to RAM`);
        this.framesByCpu.clear();
        rt.reverse.noteStateEdit();
        return { bytesWritten: written };
      },
      disassemble: async (args) => {
        this.requireStopped();
        const base = parseMemoryReference(requireString(args, 'memoryReference', 'memoryReference'));
        const offset = args['offset'] === undefined ? 0 : requireInteger(args, 'offset', 'offset');
        const instructionOffset = args['instructionOffset'] === undefined ? 0 : requireInteger(args, 'instructionOffset', 'instructionOffset');
        const count = requireInteger(args, 'instructionCount', 'instructionCount');
        if (count < 0 || count > 10_000) throw new AdapterError(ErrorCode.BadArguments, "'instructionCount' must be between 0 and 10000");
        const rows = disassembleAround(rt, (base + offset) >>> 0, instructionOffset, count);
        return { instructions: toDapInstructions(rt, rows, (f) => this.source(f), (l) => this.clientLine(l)) };
      },
      exceptionInfo: async () => {
        this.requireStopped();
        const stop = rt.lastStopInfo;
        if (stop?.exception === undefined) throw new AdapterError(ErrorCode.WrongState, 'the guest did not stop on an exception');
        return { exceptionId: stop.exception.name, description: stop.description, breakMode: 'always', details: { message: stop.exception.details, typeName: stop.exception.id } };
      },
      source: async (args) => {
        const source = args['source'] as { sourceReference?: unknown; path?: unknown } | undefined;
        const reference = typeof source?.sourceReference === 'number' ? source.sourceReference : args['sourceReference'];
        const listing = typeof reference === 'number' ? this.listings.get(reference) : undefined;
        if (listing === undefined) throw new AdapterError(ErrorCode.BadArguments, `no adapter-served source ${String(reference)}: guest frames point at .asm files; VMM handler listings exist only for frames the stack trace returned`);
        return { content: listing.text, mimeType: 'text/x-hyperstep-vmm-listing' };
      },
      terminate: async () => {
        rt.terminate();
        this.afterResponse.push(() => this.sendEvent(new TerminatedEvent()));
        return undefined;
      },
      disconnect: async () => {
        rt.terminate();
        this.afterResponse.push(() => this.shutdown());
        return undefined;
      },
    };
  }

  private async step(kind: 'in' | 'over' | 'out', args: Record<string, unknown>): Promise<undefined> {
    const granularity = args['granularity'];
    if (granularity !== undefined && granularity !== 'statement' && granularity !== 'line' && granularity !== 'instruction') {
      throw new AdapterError(ErrorCode.BadArguments, `unknown stepping granularity '${String(granularity)}'`);
    }
    this.variables.reset();
    if (args['threadId'] !== undefined && this.runtime.isLaunched && !this.runtime.isRunning) this.focusThread(args['threadId']);
    this.runtime.step(kind, granularity === 'instruction' ? 'instruction' : 'line');
    return undefined;
  }

  /** Focus the vCPU of a DAP thread id (absent: keep the focus); returns the CPU index. */
  private focusThread(threadId: unknown): number {
    if (threadId === undefined) return this.runtime.vcpus.focused;
    if (typeof threadId !== 'number' || !Number.isInteger(threadId)) throw new AdapterError(ErrorCode.BadArguments, "'threadId' must be an integer");
    const cpu = cpuOfThread(threadId);
    try {
      this.runtime.vcpus.focus(cpu);
    } catch (e) {
      throw new AdapterError(ErrorCode.BadArguments, e instanceof Error ? e.message : String(e));
    }
    return cpu;
  }

  /** The call stack of one vCPU at this stop (computed once per stop, with that vCPU focused). */
  private framesOf(cpu: number): StackEntry[] {
    let frames = this.framesByCpu.get(cpu);
    if (frames === undefined) {
      frames = nativeCallStack(this.runtime);
      this.framesByCpu.set(cpu, frames);
    }
    return frames;
  }

  /** The frame a frame id names, with its vCPU focused (undefined for an index past the stack). */
  private frameEntry(frameId: number): StackEntry | undefined {
    const cpu = Math.floor(frameId / FRAME_ID_STRIDE);
    this.focusThread(threadIdOf(cpu));
    return this.framesOf(cpu)[frameId % FRAME_ID_STRIDE];
  }

  private refuseReverseOnSmp(): void {
    if (this.runtime.vcpus.count > 1) {
      throw new AdapterError(ErrorCode.Unsupported, `reverse debugging does not record multiprocessor guests yet (this one has ${this.runtime.vcpus.count} vCPUs): its history counts one CPU's instructions`);
    }
  }

  private toDapBreakpoint(r: { id: number; verified: boolean; message?: string; line?: number; address?: number; file?: string }): DebugProtocol.Breakpoint {
    return {
      id: r.id, verified: r.verified,
      ...(r.message !== undefined ? { message: r.message } : {}),
      ...(r.line !== undefined ? { line: this.clientLine(r.line) } : {}),
      ...(r.file !== undefined ? { source: this.source(r.file) } : {}),
      ...(r.address !== undefined ? { instructionReference: hex8(r.address) } : {}),
    };
  }

  /** A DAP Source for an adapter-served listing; the same listing key keeps its sourceReference. */
  private listingSource(listing: SourceListing): DebugProtocol.Source {
    let reference = this.listingRefs.get(listing.key);
    if (reference === undefined) {
      reference = this.nextListingRef++;
      this.listingRefs.set(listing.key, reference);
      this.listings.set(reference, listing);
      // Bounded: a long session keeps the most recent listings only.
      if (this.listings.size > 512) {
        const oldest = this.listings.keys().next().value as number;
        this.listingRefs.delete(this.listings.get(oldest)!.key);
        this.listings.delete(oldest);
      }
    }
    return { name: listing.name, sourceReference: reference, presentationHint: 'deemphasize', origin: 'HyperStep VMM (read-only)' };
  }

  private toDapFrame(entry: StackEntry, id: number): DebugProtocol.StackFrame {
    if (entry.kind === 'separator') {
      // A label frame with a proper source (the transition in full) instead of "Unknown Source 0".
      if (entry.listing === undefined) return { id, name: entry.label, line: 0, column: 0, presentationHint: 'label' };
      return { id, name: entry.label, source: this.listingSource(entry.listing), line: this.clientLine(entry.listing.line), column: this.clientColumn(1), presentationHint: 'label' };
    }
    if (entry.kind === 'layer') {
      return { id, name: entry.name, source: this.listingSource(entry.listing), line: this.clientLine(entry.listing.line), column: this.clientColumn(1) };
    }
    return {
      id,
      name: entry.name,
      line: entry.line !== undefined ? this.clientLine(entry.line) : 0,
      column: entry.column !== undefined ? this.clientColumn(entry.column) : 0,
      ...(entry.file !== undefined ? { source: this.source(entry.file) } : {}),
      instructionPointerReference: hex8(entry.address),
      ...(entry.subtle === true ? { presentationHint: 'subtle' as const } : {}),
    };
  }
}

/** Exactly what this adapter implements (each flag changes what the client offers). */
export function capabilities(): DebugProtocol.Capabilities {
  return {
    supportsConfigurationDoneRequest: true,
    supportsFunctionBreakpoints: true,
    supportsConditionalBreakpoints: true,
    supportsHitConditionalBreakpoints: true,
    supportsLogPoints: true,
    supportsInstructionBreakpoints: true,
    supportsDataBreakpoints: true,
    supportsDataBreakpointBytes: true,
    supportsBreakpointLocationsRequest: true,
    supportsEvaluateForHovers: true,
    supportsCompletionsRequest: true,
    completionTriggerCharacters: [' ', '['],
    supportsSetVariable: true,
    supportsExceptionInfoRequest: true,
    supportsExceptionFilterOptions: true,
    supportsTerminateRequest: true,
    supportsReadMemoryRequest: true,
    supportsWriteMemoryRequest: true,
    supportsDisassembleRequest: true,
    supportsSteppingGranularity: true,
    supportsStepBack: true,
    exceptionBreakpointFilters: [
      {
        filter: 'guest-exception',
        label: 'Guest exceptions',
        description: 'Stop at the instruction that raises a CPU exception (#DE, #UD, #GP, #PF…), before it is delivered through the guest IDT.',
        default: false,
        supportsCondition: true,
        conditionDescription: 'Vectors to stop on, e.g. "13" or "#GP, #PF" (empty: all)',
      },
      ...VMM_EVENT_FILTERS.map((f) => ({ filter: f.id, label: f.label, description: f.description, default: false, supportsCondition: true, conditionDescription: f.conditionDescription })),
      {
        filter: 'triple-fault',
        label: 'Triple fault (shutdown)',
        description: 'Stop when a fault during #DF delivery shuts the CPU down (SDM Vol. 3A 6.15), so the state can be inspected.',
        default: true,
      },
    ],
  };
}

function optionalStrings(source: Record<string, unknown>, keys: readonly ('condition' | 'hitCondition' | 'logMessage')[]): { condition?: string; hitCondition?: string; logMessage?: string } {
  const out: { condition?: string; hitCondition?: string; logMessage?: string } = {};
  for (const k of keys) {
    const v = source[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new AdapterError(ErrorCode.BadArguments, `'${k}' must be a string`);
    out[k] = v;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 without Node's Buffer (the session also runs in the web extension host). */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=');
  }
  return out;
}

export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '');
  if (/[^A-Za-z0-9+/]/.test(clean)) throw new AdapterError(ErrorCode.BadArguments, "'data' is not base64");
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const c of clean) {
    acc = (acc << 6) | B64.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
