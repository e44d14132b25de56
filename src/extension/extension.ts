// The extension's composition root, shared by the Node and the web extension host entries.
// It is the only place that wires VS Code to the debug adapter, the language server and the views.
import * as vscode from 'vscode';
import { registerDebugAdapterFactory } from './debugAdapterFactory';
import { HyperStepConfigurationProvider } from './debugConfiguration';
import { DEBUG_TYPE, INCLUDE_PATHS_NOTIFICATION, LANGUAGE_ID } from './ids';
import { registerSerialTerminals, type SerialTerminalTranscript } from './serialTerminal';
import { registerViews, type HyperStepViews } from './views/index';

/** A started language client, as far as the composition root cares. */
export interface LanguageClientHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  sendNotification(method: string, params: unknown): Promise<void>;
}

/** `hyperstep.includePaths` resolved to absolute paths (relative ones against each workspace folder). */
function resolvedIncludePaths(): string[] {
  const configured = vscode.workspace.getConfiguration('hyperstep').get<string[]>('includePaths') ?? [];
  const folders = vscode.workspace.workspaceFolders ?? [];
  const paths: string[] = [];
  for (const entry of configured) {
    if (entry.startsWith('/')) paths.push(entry);
    else for (const folder of folders) paths.push(vscode.Uri.joinPath(folder.uri, entry).path);
  }
  return paths;
}

/** What differs between the Node and the web extension host. */
export interface ExtensionHost {
  readonly kind: 'node' | 'web';
  /** Creates the client that runs the language server in a process (Node) or a worker (web). */
  createLanguageClient(context: vscode.ExtensionContext): LanguageClientHandle;
}

/** What `activate` returns: a small API that the extension-host tests (and other extensions) can inspect. */
export interface HyperStepApi {
  readonly host: ExtensionHost['kind'];
  readonly debugType: string;
  readonly languageId: string;
  readonly activatedInMs: number;
  /** Resolves when the language server has started (rejects with its error if it could not). */
  readonly languageServerReady: Promise<void>;
  /** The views (activity, compare, layers panels, TC and VMCS trees, status bar), for the extension-host tests. */
  readonly views: HyperStepViews;
  /** The serial terminals opened for sessions with "serialTerminal": true, as their users saw them. */
  readonly serialTerminals: () => SerialTerminalTranscript[];
}

export function activateHyperStep(context: vscode.ExtensionContext, host: ExtensionHost): HyperStepApi {
  const started = Date.now();
  const provider = new HyperStepConfigurationProvider();
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  );
  registerDebugAdapterFactory(context);
  const views = registerViews(context);
  const serialTerminals = registerSerialTerminals(context);
  // The language server starts in the background: activation never waits for it, and a failure is shown
  // in the output channel rather than breaking the debugger.
  // Creating the client can throw too (code-server's web-worker host refuses workers for extensions
  // served from vscode-remote:), so that failure goes the same way.
  let languageServerReady: Promise<void>;
  try {
    const client = host.createLanguageClient(context);
    context.subscriptions.push({ dispose: () => void client.stop() });
    languageServerReady = client.start().then(() => client.sendNotification(INCLUDE_PATHS_NOTIFICATION, { includePaths: resolvedIncludePaths() }));
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hyperstep.includePaths')) void client.sendNotification(INCLUDE_PATHS_NOTIFICATION, { includePaths: resolvedIncludePaths() });
      }),
    );
  } catch (e: unknown) {
    languageServerReady = Promise.reject(e);
  }
  languageServerReady.catch((e: unknown) => void vscode.window.showWarningMessage(`HyperStep language server failed to start: ${String(e)}`));
  return { host: host.kind, debugType: DEBUG_TYPE, languageId: LANGUAGE_ID, activatedInMs: Date.now() - started, languageServerReady, views, serialTerminals };
}
