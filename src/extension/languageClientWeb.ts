// Starts the language server in a web worker (web extension host).
// VS Code's web-worker extension host replaces `Worker` with a wrapper that refuses scripts whose URL has
// the vscode-remote: scheme ("Creating workers from remote extensions is currently not supported"), which
// is where code-server and other remote setups serve an extension from. So for any scheme the browser
// cannot fetch by itself, the script is read through VS Code's file system API and the worker is started
// from a blob: URL; http(s) extension locations (vscode.dev, the marketplace CDN) are used directly.
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions } from 'vscode-languageclient/browser';
import type { LanguageClientHandle } from './extension';
import { LANGUAGE_ID } from './ids';

async function createServerWorker(extensionUri: vscode.Uri): Promise<Worker> {
  const main = vscode.Uri.joinPath(extensionUri, 'dist', 'web', 'languageServer.js');
  if (main.scheme === 'http' || main.scheme === 'https') return new Worker(main.toString(true));
  const script = await vscode.workspace.fs.readFile(main);
  const url = URL.createObjectURL(new Blob([new TextDecoder().decode(script)], { type: 'application/javascript' }));
  return new Worker(url, { name: 'HyperStep language server' });
}

export function createWebLanguageClient(context: vscode.ExtensionContext): LanguageClientHandle {
  const clientOptions: LanguageClientOptions = { documentSelector: [{ language: LANGUAGE_ID }] };
  let client: LanguageClient | undefined;
  let stopped = false;
  return {
    async start(): Promise<void> {
      const worker = await createServerWorker(context.extensionUri);
      if (stopped) {
        worker.terminate();
        return;
      }
      client = new LanguageClient('hyperstep-nasm', 'HyperStep NASM', worker, clientOptions);
      await client.start();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (client?.isRunning()) await client.stop();
    },
    sendNotification: async (method: string, params: unknown): Promise<void> => {
      if (client?.isRunning()) await client.sendNotification(method, params);
    },
  };
}
