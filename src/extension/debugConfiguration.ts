// Supplies and completes `hyperstep` launch configurations: F5 on an open guest .asm file with no
// launch.json debugs that file; the dynamic list offers one configuration per technique.
import * as vscode from 'vscode';
import { DEBUG_TYPE, LANGUAGE_ID, localPathOf, TECHNIQUES, type Technique } from './ids';

const TECHNIQUE_LABELS: Record<Technique, string> = {
  native: 'bare metal (no VMM)',
  'trap-and-emulate': 'trap-and-emulate (ring deprivileging)',
  'binary-translation': 'binary translation',
  paravirtual: 'paravirtual (hypercalls)',
  'hardware-assisted': 'hardware assist (VT-x)',
};

export function defaultLaunchConfiguration(technique: Technique = 'trap-and-emulate'): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `HyperStep: ${TECHNIQUE_LABELS[technique]}`,
    program: '${file}',
    stopOnEntry: true,
    technique,
    architecture: 'monolithic',
    costModel: 'p4-2006',
  };
}

export class HyperStepConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return TECHNIQUES.map((t) => defaultLaunchConfiguration(t));
  }

  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    // F5 with no launch.json: VS Code passes an empty configuration.
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.languageId === LANGUAGE_ID) return defaultLaunchConfiguration();
      return vscode.window
        .showInformationMessage('HyperStep debugs guest assembly: open a NASM .asm file first.')
        .then(() => undefined);
    }
    if (!config.program) {
      return vscode.window.showErrorMessage("The 'program' attribute is missing: name the guest .asm, ELF or flat binary to run.").then(() => undefined);
    }
    return config;
  }

  /**
   * code-server sometimes substitutes `${file}` as `vscode-remote:/host:port/path` instead of a plain path; the
   * adapter reads files by path, so the remote authority is stripped here (the extension host runs on that host).
   */
  resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration {
    if (typeof config.program === 'string') config.program = localPathOf(config.program);
    return config;
  }
}
