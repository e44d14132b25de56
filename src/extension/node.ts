// Entry point in the Node (desktop or remote) extension host.
import type * as vscode from 'vscode';
import { activateHyperStep, type HyperStepApi } from './extension';
import { createNodeLanguageClient } from './languageClientNode';

export function activate(context: vscode.ExtensionContext): HyperStepApi {
  return activateHyperStep(context, { kind: 'node', createLanguageClient: createNodeLanguageClient });
}

export function deactivate(): void {}
