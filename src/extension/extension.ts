// The extension's composition root, shared by the Node and the web extension host entries.
// It is the only place that wires VS Code to the debug adapter, the language server and the views.
import * as vscode from 'vscode';
import { HyperStepConfigurationProvider } from './debugConfiguration';
import { DEBUG_TYPE, LANGUAGE_ID } from './ids';

/** What differs between the Node and the web extension host. */
export interface ExtensionHost {
  readonly kind: 'node' | 'web';
}

/** What `activate` returns: a small API that the extension-host tests (and other extensions) can inspect. */
export interface HyperStepApi {
  readonly host: ExtensionHost['kind'];
  readonly debugType: string;
  readonly languageId: string;
  readonly activatedInMs: number;
}

export function activateHyperStep(context: vscode.ExtensionContext, host: ExtensionHost): HyperStepApi {
  const started = Date.now();
  const provider = new HyperStepConfigurationProvider();
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  );
  return { host: host.kind, debugType: DEBUG_TYPE, languageId: LANGUAGE_ID, activatedInMs: Date.now() - started };
}
