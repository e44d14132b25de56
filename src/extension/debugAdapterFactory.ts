// SPDX-License-Identifier: MIT
// Runs the HyperStep debug adapter inline in the extension host (desktop and web): a
// DebugAdapterInlineImplementation around the same HyperStepDebugSession that dist/debugAdapter.js serves
// over stdio or a TCP port. The session reads the guest's files through vscode.workspace.fs, so it works
// on any file system VS Code can open (local, remote, virtual), and needs no Node API of its own. When the
// session's files live on a non-file scheme (the web extension host sees vscode-remote://… folders), the
// messages pass through a SourceUriMapper so the workbench gets sources it can open (sourceUris.ts).
import * as vscode from 'vscode';
import type { FileAccess } from '../debug-adapter/fileAccess';
import { HyperStepDebugSession } from '../debug-adapter/session';
import { DEBUG_TYPE } from './ids';
import { parseUri, SourceUriMapper, type UriBase } from './sourceUris';

/** FileAccess over vscode.workspace.fs; plain paths are read on the mapper's file system (else as file: paths). */
function workspaceFiles(mapper: SourceUriMapper): FileAccess {
  const toUri = (path: string): vscode.Uri => {
    if (parseUri(path) !== undefined) return vscode.Uri.parse(path);
    const base = mapper.uriBase;
    if (base !== undefined) return vscode.Uri.from({ scheme: base.scheme, authority: base.authority, path: path.replace(/\\/g, '/') });
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

/** The session's file system when it is not the local one: its workspace folder's scheme and authority. */
function folderBase(session: vscode.DebugSession): UriBase | undefined {
  const folder = session.workspaceFolder ?? vscode.workspace.workspaceFolders?.[0];
  return folder === undefined || folder.uri.scheme === 'file' ? undefined : { scheme: folder.uri.scheme, authority: folder.uri.authority };
}

/** The inline adapter seen through the mapper: URIs in, plain paths to the session, URIs back out. */
class MappedInlineAdapter implements vscode.DebugAdapter {
  private readonly sent = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.sent.event;
  private readonly session: HyperStepDebugSession;

  constructor(private readonly mapper: SourceUriMapper) {
    this.session = new HyperStepDebugSession({ files: workspaceFiles(mapper) });
    this.session.onDidSendMessage((message) => this.sent.fire(mapper.outgoing(message as Parameters<SourceUriMapper['outgoing']>[0])));
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    this.session.handleMessage(this.mapper.incoming(message as Parameters<SourceUriMapper['incoming']>[0]));
  }

  dispose(): void {
    this.session.dispose();
    this.sent.dispose();
  }
}

class InlineAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    return new vscode.DebugAdapterInlineImplementation(new MappedInlineAdapter(new SourceUriMapper(folderBase(session))));
  }
}

/** Registers the inline adapter for the `hyperstep` debug type. */
export function registerDebugAdapterFactory(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new InlineAdapterFactory()));
}
