// Test helper: runs the real language server in-process over a pair of streams and talks LSP to it
// through a JSON-RPC client connection, as an editor would.
import { PassThrough } from 'node:stream';
import { createConnection } from 'vscode-languageserver/node';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { startLanguageServer, type LanguageServerHost } from '../../../src/language-server/server';

export interface LspTestClient {
  readonly rpc: MessageConnection;
  open(uri: string, text: string): Promise<void>;
  change(uri: string, version: number, text: string): Promise<void>;
  close(): Promise<void>;
}

export interface PublishedDiagnostics {
  readonly uri: string;
  readonly diagnostics: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; message: string; severity: number; relatedInformation?: { location: { uri: string; range: { start: { line: number } } }; message: string }[] }[];
}

export async function startTestServer(host: LanguageServerHost = {}, onDiagnostics?: (p: PublishedDiagnostics) => void, workspaceFolders: { uri: string; name: string }[] | null = null): Promise<LspTestClient> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  startLanguageServer(createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient)), host);
  const rpc = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  if (onDiagnostics) rpc.onNotification('textDocument/publishDiagnostics', onDiagnostics);
  rpc.listen();
  await rpc.sendRequest('initialize', { processId: null, rootUri: null, workspaceFolders, capabilities: {} });
  await rpc.sendNotification('initialized', {});
  return {
    rpc,
    open: (uri, text) => rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'hyperstep-nasm', version: 1, text } }),
    change: (uri, version, text) => rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] }),
    close: async () => {
      await rpc.sendRequest('shutdown');
      rpc.dispose();
      toServer.end();
      toClient.end();
    },
  };
}
