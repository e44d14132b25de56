// Starts the language server in a web worker (web extension host).
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/browser';
import { LANGUAGE_ID } from './ids';

export function createWebLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const main = vscode.Uri.joinPath(context.extensionUri, 'dist', 'web', 'languageServer.js');
  const worker = new Worker(main.toString(true));
  return new LanguageClient('hyperstep-nasm', 'HyperStep NASM', worker, { documentSelector: [{ language: LANGUAGE_ID }] });
}
