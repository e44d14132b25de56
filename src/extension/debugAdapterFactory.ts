// SPDX-License-Identifier: MIT
// Runs the HyperStep debug adapter inline in the extension host (desktop and web): a
// DebugAdapterInlineImplementation around the same HyperStepDebugSession that dist/debugAdapter.js serves
// over stdio or a TCP port. The session reads the guest's files through vscode.workspace.fs, so it works
// on any file system VS Code can open (local, remote, virtual), and needs no Node API of its own.
import * as vscode from 'vscode';
import type { FileAccess } from '../debug-adapter/fileAccess';
import { HyperStepDebugSession } from '../debug-adapter/session';
import { DEBUG_TYPE } from './ids';

/** FileAccess over vscode.workspace.fs; plain paths take the scheme of the session's workspace folder. */
function workspaceFiles(folder: vscode.WorkspaceFolder | undefined): FileAccess {
  const toUri = (path: string): vscode.Uri => {
    if (/^[a-z][a-z0-9+.-]+:\/\//i.test(path)) return vscode.Uri.parse(path);
    if (folder !== undefined && folder.uri.scheme !== 'file') return folder.uri.with({ path: path.replace(/\\/g, '/') });
    return vscode.Uri.file(path);
  };
  return {
    async readFile(path: string): Promise<Uint8Array | undefined> {
      try {
        return await vscode.workspace.fs.readFile(toUri(path));
      } catch {
        return undefined;
      }
    },
  };
}

class InlineAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    return new vscode.DebugAdapterInlineImplementation(new HyperStepDebugSession({ files: workspaceFiles(session.workspaceFolder) }));
  }
}

/** Registers the inline adapter for the `hyperstep` debug type. */
export function registerDebugAdapterFactory(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new InlineAdapterFactory()));
}
