// SPDX-License-Identifier: MIT
// Validates the `launch` request's arguments against the schema declared in package.json
// (contributes.debuggers[0].configurationAttributes.launch) and reduces them to a typed LaunchConfig.
// Every problem is reported in words; a technique or architecture the runtime does not run yet is a clear
// refusal, never a crash. Keep this file in step with package.json when an attribute is added.
import { resolveCostModel, type CostModel } from '../emulator/vmm/costModel';
import { parseControls } from '../emulator/vmm/hardwareAssist/controls';
import { IMPLEMENTED_TECHNIQUES } from '../emulator/vmm/index';
import { ARCHITECTURES, TECHNIQUES, type Architecture, type Technique } from '../emulator/vmm/layers';

/** Techniques this adapter can run today: every technique the VMM has an engine for. */
export const RUNNABLE_TECHNIQUES: readonly Technique[] = IMPLEMENTED_TECHNIQUES;

export interface LaunchConfig {
  readonly program: string;
  readonly stopOnEntry: boolean;
  readonly technique: Technique;
  readonly architecture: Architecture;
  /** The cycle-cost model (preset plus validated overrides) the VMM charges events with. */
  readonly costModel: CostModel;
  /** The preset name and overrides as written (the VMM factory resolves them again). */
  readonly costPreset: string;
  readonly costOverrides: Readonly<Record<string, number>>;
  /** VT-x controls for `hardware-assisted` (validated by the engine's own parser), with `exceptionBitmap` merged in. */
  readonly vmxControls?: Readonly<Record<string, unknown>>;
  readonly memoryMB: number;
  readonly vcpus: number;
  readonly cwd?: string;
  readonly includePaths: readonly string[];
  readonly defines: Readonly<Record<string, string>>;
  readonly serialInput: string;
  readonly instructionLimit: number;
  readonly outputLimitBytes: number;
  readonly trace: boolean;
}

/** Attributes VS Code or the protocol adds to every configuration; not part of our schema. */
const FRAMEWORK_KEYS = new Set(['type', 'request', 'name', '__sessionId', '__configurationTarget', 'noDebug', '__restart', 'preLaunchTask', 'postDebugTask', 'internalConsoleOptions', 'debugServer', 'presentation', 'suppressMultipleSessionWarning', '__parentId']);

const KNOWN_KEYS = new Set([
  'program', 'stopOnEntry', 'technique', 'architecture', 'costModel', 'costOverrides', 'memoryMB', 'vcpus', 'cwd', 'includePaths',
  'defines', 'vmxControls', 'exceptionBitmap', 'serialInput', 'instructionLimit', 'outputLimitBytes', 'reverseHistoryMB', 'trace',
  'serialTerminal', // read by the extension (src/extension/serialTerminal.ts), not by the adapter
]);

export type LaunchValidation = { readonly config: LaunchConfig; readonly notes: readonly string[] } | { readonly problems: readonly string[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks `args` against the launch schema; returns the config (with informational notes) or the problems. */
export function validateLaunchArgs(args: unknown): LaunchValidation {
  const problems: string[] = [];
  const notes: string[] = [];
  if (!isRecord(args)) return { problems: ['the launch arguments must be an object'] };
  const a = args;
  for (const key of Object.keys(a)) {
    if (!KNOWN_KEYS.has(key) && !FRAMEWORK_KEYS.has(key)) notes.push(`ignoring unknown launch attribute '${key}'`);
  }
  const str = (key: string, required = false): string | undefined => {
    const v = a[key];
    if (v === undefined) {
      if (required) problems.push(`'${key}' is required`);
      return undefined;
    }
    if (typeof v !== 'string') problems.push(`'${key}' must be a string (got ${JSON.stringify(v)})`);
    return typeof v === 'string' ? v : undefined;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = a[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') problems.push(`'${key}' must be true or false (got ${JSON.stringify(v)})`);
    return v === true;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = a[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`'${key}' must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = a[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      problems.push(`'${key}' must be one of ${allowed.map((x) => `'${x}'`).join(', ')} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v as T;
  };

  const program = str('program', true);
  if (program !== undefined && program.trim() === '') problems.push("'program' is empty: name the guest .asm, ELF or flat binary");
  const technique = oneOf('technique', TECHNIQUES, 'trap-and-emulate');
  const architecture = oneOf('architecture', ARCHITECTURES, 'monolithic');
  const costPreset = oneOf('costModel', ['p4-2006', 'modern'] as const, 'p4-2006');
  const costOverrides = a['costOverrides'];
  if (costOverrides !== undefined) {
    if (!isRecord(costOverrides)) problems.push("'costOverrides' must be an object of cycle counts");
    else for (const [k, v] of Object.entries(costOverrides)) {
      if (typeof v !== 'number' || !(v >= 0)) problems.push(`'costOverrides.${k}' must be a number ≥ 0 (got ${JSON.stringify(v)})`);
    }
  }
  const memoryMB = int('memoryMB', 32, 1, 512);
  const vcpus = int('vcpus', 1, 1, 8);
  const cwd = str('cwd');
  const includePaths: string[] = [];
  const inc = a['includePaths'];
  if (inc !== undefined) {
    if (!Array.isArray(inc) || inc.some((x) => typeof x !== 'string')) problems.push("'includePaths' must be an array of strings");
    else includePaths.push(...(inc as string[]));
  }
  const defines: Record<string, string> = {};
  const defs = a['defines'];
  if (defs !== undefined) {
    if (!isRecord(defs)) problems.push("'defines' must be an object of name → string or number");
    else for (const [k, v] of Object.entries(defs)) {
      if (typeof v === 'string' || typeof v === 'number') defines[k] = String(v);
      else problems.push(`'defines.${k}' must be a string or a number (got ${JSON.stringify(v)})`);
    }
  }
  const vmx = a['vmxControls'];
  const exceptionBitmap = int('exceptionBitmap', 0, 0, 0xffffffff);
  let vmxControls: Record<string, unknown> | undefined;
  if (vmx !== undefined && !isRecord(vmx)) problems.push("'vmxControls' must be an object");
  else if (vmx !== undefined || a['exceptionBitmap'] !== undefined) {
    // One parser for the controls: the hardware-assisted engine's (src/emulator/vmm/hardwareAssist/controls.ts).
    vmxControls = { ...(vmx ?? {}), ...(a['exceptionBitmap'] !== undefined ? { exceptionBitmap } : {}) };
    const parsed = parseControls(vmxControls);
    if (!parsed.ok) problems.push(...parsed.errors);
  }
  const serialInput = str('serialInput') ?? '';
  const instructionLimit = int('instructionLimit', 0, 0, Number.MAX_SAFE_INTEGER);
  const outputLimitBytes = int('outputLimitBytes', 1048576, 0, Number.MAX_SAFE_INTEGER);
  int('reverseHistoryMB', 64, 0, 65536);
  const trace = bool('trace', false);
  const stopOnEntry = bool('stopOnEntry', false);

  if (problems.length === 0 && !RUNNABLE_TECHNIQUES.includes(technique)) {
    problems.push(
      `technique '${technique}' is not implemented in this version of the HyperStep debugger yet; ` +
        `use "technique": "native" to debug the guest on the bare emulated PC`,
    );
  }
  if (problems.length === 0 && vcpus > 1 && technique !== 'native') {
    // The VMM engines virtualize one CPU: several vCPUs under a VMM are out of scope for now (docs/smp.md).
    problems.push(
      `'vcpus': ${vcpus} needs "technique": "native": the ${technique} VMM virtualizes one vCPU only ` +
        `(set "vcpus": 1 to run this guest under ${technique}, or "technique": "native" for ${vcpus} vCPUs)`,
    );
  }
  if (problems.length === 0 && memoryMB < 2) problems.push("'memoryMB' must be at least 2 for the emulated PC (Multiboot loads kernels at 1 MiB)");
  const cost = resolveCostModel(costPreset, isRecord(costOverrides) ? costOverrides : {});
  if (!cost.ok && problems.length === 0) problems.push(...cost.errors.map((e) => `cost model: ${e}`));
  if (problems.length > 0 || !cost.ok) return { problems };
  if (technique === 'native' && a['architecture'] !== undefined) {
    notes.push(`architecture '${architecture}' has no effect with technique 'native' (there is no VMM)`);
  }
  if (technique === 'native' && (vmx !== undefined || a['exceptionBitmap'] !== undefined)) {
    notes.push("'vmxControls' and 'exceptionBitmap' apply to technique 'hardware-assisted' only; ignored");
  }
  return {
    config: {
      program: program!, stopOnEntry, technique, architecture, costModel: cost.model, costPreset, costOverrides: isRecord(costOverrides) ? (costOverrides as Record<string, number>) : {},
      ...(vmxControls !== undefined ? { vmxControls } : {}), memoryMB, vcpus, ...(cwd !== undefined ? { cwd } : {}),
      includePaths, defines, serialInput, instructionLimit, outputLimitBytes, trace,
    },
    notes,
  };
}
