// Entry point in the web-worker extension host (vscode.dev, code-server's web host): no Node APIs here.
import type * as vscode from 'vscode';
import { activateHyperStep, type HyperStepApi } from './extension';
import { createWebLanguageClient } from './languageClientWeb';

export function activate(context: vscode.ExtensionContext): HyperStepApi {
  return activateHyperStep(context, { kind: 'web', createLanguageClient: createWebLanguageClient });
}

export function deactivate(): void {}
