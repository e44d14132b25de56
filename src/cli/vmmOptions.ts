// The VMM options of `hyperstep run` (--technique, --architecture, --cost-model, --cost NAME=CYCLES, --trace,
// --json): taken out of the argument list before run.ts parses the rest, and validated with the same rules
// as the debug adapter's launch configuration (src/emulator/vmm: layers.ts, costModel.ts), so a typo gives one
// clear line, never a stack trace. Which techniques actually run is decided by createVmmEngine alone.
import { resolveCostModel, type CostModel } from '../emulator/vmm/costModel';
import { ARCHITECTURES, TECHNIQUES, isArchitecture, isTechnique, type Architecture, type Technique } from '../emulator/vmm/layers';

export interface VmmOptions {
  readonly technique: Technique;
  readonly architecture: Architecture;
  readonly costModelName: string;
  readonly costOverrides: Readonly<Record<string, number>>;
  /** Resolved preset + overrides (validated here so errors come before the guest is assembled). */
  readonly costModel: CostModel;
  readonly trace: boolean;
  readonly json: boolean;
}

export interface SplitArguments {
  /** True when any VMM option was given: the run goes through createVmmEngine. */
  readonly wantsVmm: boolean;
  /** The arguments run.ts understands (file, limits, -I, -D…). */
  readonly rest: readonly string[];
  readonly options?: VmmOptions;
  /** One message per problem with the VMM options. */
  readonly errors: readonly string[];
}

export const VMM_USAGE = `  --technique <t>            run under a VMM: ${TECHNIQUES.join(' | ')}
                             (exit status 16 when the technique's engine does not exist yet)
  --architecture <a>         ${ARCHITECTURES.join(' | ')} (default monolithic)
  --cost-model <preset>      p4-2006 | modern (default p4-2006)
  --cost <name=cycles>       override one cost-model parameter (repeatable), e.g. --cost worldSwitch=9000
  --trace                    print every layer transition on stderr as it happens
  --json                     print one JSON document (output, stop, ledger; transitions with --trace) on stdout
`;

const VALUE_FLAGS = new Set(['--technique', '--architecture', '--cost-model', '--cost']);
const SWITCH_FLAGS = new Set(['--trace', '--json']);

/** `--flag value` and `--flag=value` both work. */
function flagAndValue(argument: string): { flag: string; inline?: string } {
  const eq = argument.indexOf('=');
  if (argument.startsWith('--') && eq > 0 && VALUE_FLAGS.has(argument.slice(0, eq))) return { flag: argument.slice(0, eq), inline: argument.slice(eq + 1) };
  return { flag: argument };
}

export function splitVmmArguments(argv: readonly string[]): SplitArguments {
  const rest: string[] = [];
  const errors: string[] = [];
  let wantsVmm = false;
  let technique: string | undefined;
  let architecture: string | undefined;
  let costModelName: string | undefined;
  let trace = false;
  let json = false;
  const costOverrides: Record<string, number> = {};
  for (let k = 0; k < argv.length; k++) {
    const { flag, inline } = flagAndValue(argv[k]!);
    if (SWITCH_FLAGS.has(flag)) {
      wantsVmm = true;
      if (flag === '--trace') trace = true;
      else json = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      rest.push(argv[k]!);
      // Keep run.ts's own value-taking options together with their value.
      continue;
    }
    wantsVmm = true;
    const value = inline ?? argv[++k];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      errors.push(`${flag} needs a value`);
      if (value !== undefined) k--;
      continue;
    }
    switch (flag) {
      case '--technique':
        technique = value;
        break;
      case '--architecture':
        architecture = value;
        break;
      case '--cost-model':
        costModelName = value;
        break;
      default: {
        const eq = value.indexOf('=');
        const cycles = eq > 0 ? Number(value.slice(eq + 1)) : NaN;
        if (eq <= 0 || value.slice(eq + 1).trim() === '' || !Number.isFinite(cycles)) errors.push(`--cost needs NAME=CYCLES (e.g. --cost vmExit=1200); got '${value}'`);
        else costOverrides[value.slice(0, eq)] = cycles;
      }
    }
  }
  if (!wantsVmm) return { wantsVmm, rest, errors };
  const chosenTechnique = technique ?? 'native';
  const chosenArchitecture = architecture ?? 'monolithic';
  if (!isTechnique(chosenTechnique)) errors.push(`--technique must be one of ${TECHNIQUES.join(', ')}; got '${chosenTechnique}'`);
  if (!isArchitecture(chosenArchitecture)) errors.push(`--architecture must be one of ${ARCHITECTURES.join(', ')}; got '${chosenArchitecture}'`);
  const cost = resolveCostModel(costModelName ?? 'p4-2006', costOverrides);
  if (!cost.ok) errors.push(...cost.errors.map((e) => e.replace(/^costOverrides: /, '--cost: ').replace(/^costOverrides\./, '--cost ').replace(/^costModel\b/, '--cost-model')));
  if (errors.length > 0 || !cost.ok || !isTechnique(chosenTechnique) || !isArchitecture(chosenArchitecture)) return { wantsVmm, rest, errors };
  return {
    wantsVmm,
    rest,
    errors,
    options: {
      technique: chosenTechnique,
      architecture: chosenArchitecture,
      costModelName: costModelName ?? 'p4-2006',
      costOverrides,
      costModel: cost.model,
      trace,
      json,
    },
  };
}
