// The HyperStep language server core: wires the editor features to an LSP connection. The connection
// comes from the entry point (node.ts: IPC/stdio in its own process; web.ts: a web worker), so the same
// code serves desktop VS Code, the web extension host and the in-process tests.
import { TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { indexDocument, type DocumentIndex, type SymbolDefinition } from './analysis/documentIndex';
import { WorkspaceIndex, type WorkspaceHost } from './analysis/workspaceIndex';
import { completionsAt } from './features/completion';
import { diagnoseDocument, pathToUri, uriToPath } from './features/diagnostics';
import { hoverAt } from './features/hover';
import { describeEncoding, EncodingCache } from './features/encodingAtLine';
import { definitionOf, documentSymbols, foldingRanges, referencesOf, renameEdits } from './features/navigation';
import { SEMANTIC_LEGEND, semanticTokens } from './features/semanticTokens';
import { paravirtualCodeActions } from './features/paravirtual';
import { signatureHelpAt } from './features/signatureHelp';
import { workspaceSymbols } from './features/workspaceSymbols';
import { lineAt } from './features/words';
import { canonicalMnemonic } from '../emulator/isa/table';
import { DiagnosticsScheduler } from './diagnosticsScheduler';

export const SERVER_NAME = 'HyperStep NASM language server';
/** Client → server: `{ includePaths: string[] }` (absolute directories, NASM -I). Same string as src/extension/ids.ts. */
export const INCLUDE_PATHS_NOTIFICATION = 'hyperstep/includePaths';

export interface LanguageServerHost extends WorkspaceHost {
  /** Reads a file that is not open in the editor (Node: the disk). Absent in the web worker. */
  readonly readFile?: (path: string) => string | undefined;
  /** Fixed delay between the last keystroke and re-assembly (default: adaptive, diagnosticsScheduler.ts). */
  readonly diagnosticsDelayMs?: number;
  /** Called after each publish with the assembler's time and the whole publish's (benchmarks). */
  readonly onDiagnosticsPublished?: (uri: string, timing: { readonly assembleMs: number; readonly publishMs: number }) => void;
}

/** Starts serving on `connection`; returns when the connection is set up (it runs until closed). */
export function startLanguageServer(connection: Connection, host: LanguageServerHost = {}): void {
  const documents = new TextDocuments(TextDocument);
  const openText = (path: string): string | undefined => {
    for (const doc of documents.all()) if (uriToPath(doc.uri) === path) return doc.getText();
    return undefined;
  };
  let closed = false;
  let includePaths: readonly string[] = [];
  const publish = (uri: string): number | undefined => {
    const doc = documents.get(uri);
    if (!doc || closed) return undefined;
    const started = performance.now();
    const { byUri, elapsedMs } = diagnoseDocument(uri, doc.getText(), openText, host.readFile, includePaths);
    try {
      for (const [target, diagnostics] of byUri) void connection.sendDiagnostics({ uri: target, diagnostics });
    } catch {
      // The client went away between the keystroke and the publish: nothing left to tell.
      closed = true;
    }
    host.onDiagnosticsPublished?.(uri, { assembleMs: elapsedMs, publishMs: performance.now() - started });
    return elapsedMs;
  };
  const scheduler = new DiagnosticsScheduler(publish, host.diagnosticsDelayMs);
  const schedule = (uri: string): void => scheduler.schedule(uri);
  const indexes = new Map<string, { version: number; index: DocumentIndex }>();

  const indexOf = (doc: TextDocument): DocumentIndex => {
    const cached = indexes.get(doc.uri);
    if (cached && cached.version === doc.version) return cached.index;
    const index = indexDocument(doc.getText());
    indexes.set(doc.uri, { version: doc.version, index });
    return index;
  };
  const workspace = new WorkspaceIndex(host);
  const openPaths = (): Set<string> => new Set(documents.all().map((d) => uriToPath(d.uri) ?? d.uri));
  /** Open documents first, then the files on disk under the workspace folders (Node only). */
  const allSources = (): { uri: string; index: DocumentIndex }[] => {
    const open = openPaths();
    return [
      ...documents.all().map((doc) => ({ uri: doc.uri, index: indexOf(doc) })),
      ...workspace.files((path) => open.has(path)).map((f) => ({ uri: pathToUri(f.path), index: f.index })),
    ];
  };
  /** A macro or %define for signature help: this document, other open documents, then the workspace. */
  const findMacro = (uri: string, name: string): SymbolDefinition | undefined => {
    const isMacro = (d: SymbolDefinition | undefined): d is SymbolDefinition => d?.kind === 'macro' || d?.kind === 'define';
    const own = documents.get(uri);
    const first = own ? indexOf(own).byName.get(name) : undefined;
    if (isMacro(first)) return first;
    for (const doc of documents.all()) {
      const def = indexOf(doc).byName.get(name);
      if (isMacro(def)) return def;
    }
    if (canonicalMnemonic(name) !== undefined) return undefined; // an instruction: no disk walk per typed space
    const open = openPaths();
    for (const f of workspace.files((path) => open.has(path))) {
      const def = f.index.byName.get(name);
      if (isMacro(def)) return def;
    }
    return undefined;
  };
  const withDoc = <T>(uri: string, fallback: T, f: (doc: TextDocument, index: DocumentIndex) => T): T => {
    const doc = documents.get(uri);
    return doc ? f(doc, indexOf(doc)) : fallback;
  };

  connection.onInitialize((params): InitializeResult => {
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    workspace.setFolders(folders.map(uriToPath).filter((p): p is string => p !== undefined));
    return {
    serverInfo: { name: SERVER_NAME },
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: ['%', '.'] },
      definitionProvider: true,
      referencesProvider: true,
      renameProvider: true,
      documentSymbolProvider: true,
      foldingRangeProvider: true,
      semanticTokensProvider: { legend: SEMANTIC_LEGEND, full: true },
      codeActionProvider: { codeActionKinds: ['quickfix'] },
      signatureHelpProvider: { triggerCharacters: [' ', ',', '('], retriggerCharacters: [','] },
      workspaceSymbolProvider: true,
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    };
  });
  connection.onInitialized(() => {
    // Only clients that announced workspace-folder support send the change notification.
    try {
      connection.workspace.onDidChangeWorkspaceFolders(async () => {
        const folders = (await connection.workspace.getWorkspaceFolders()) ?? [];
        workspace.setFolders(folders.map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined));
      });
    } catch {
      // The client does not support workspace folders: the initialize-time folders stay.
    }
  });

  const encodings = new EncodingCache();
  connection.onHover((p) =>
    withDoc(p.textDocument.uri, null, (doc, index) => {
      const hover = hoverAt(doc.getText(), index, p.position);
      // Instruction hovers also show the bytes the line assembles to (assembled with its includes).
      if (hover === null || !index.instructions.some((site) => site.line === p.position.line && hover.range?.start.character === site.start)) return hover;
      const path = uriToPath(doc.uri) ?? doc.uri;
      const encoding = encodings.encodingAt(path, doc.version, doc.getText(), p.position.line, (f) => openText(f) ?? host.readFile?.(f), includePaths);
      const contents = hover.contents as { kind: string; value: string };
      return { ...hover, contents: { kind: contents.kind, value: `${describeEncoding(encoding)}\n\n${contents.value}` } } as typeof hover;
    }),
  );
  connection.onCompletion((p) => withDoc(p.textDocument.uri, [], (doc, index) => completionsAt(index, lineAt(doc.getText(), p.position.line).slice(0, p.position.character))));
  connection.onDefinition((p) => withDoc(p.textDocument.uri, null, (doc, index) => definitionOf(doc.uri, doc.getText(), index, p.position)));
  connection.onReferences((p) => withDoc(p.textDocument.uri, [], (doc, index) => referencesOf(doc.uri, doc.getText(), index, p.position, p.context.includeDeclaration)));
  connection.onRenameRequest((p) =>
    withDoc(p.textDocument.uri, null, (doc, index) => {
      const edits = renameEdits(doc.getText(), index, p.position, p.newName);
      if (typeof edits === 'string') throw new Error(edits);
      return { changes: { [doc.uri]: edits } };
    }),
  );
  connection.onCodeAction((p) => withDoc(p.textDocument.uri, [], (doc, index) => paravirtualCodeActions(doc.uri, doc.getText(), index, p.range)));
  connection.onSignatureHelp((p) => withDoc(p.textDocument.uri, null, (doc) => signatureHelpAt(lineAt(doc.getText(), p.position.line).slice(0, p.position.character), (name) => findMacro(doc.uri, name))));
  connection.onWorkspaceSymbol((p) => workspaceSymbols(allSources(), p.query));
  connection.onDocumentSymbol((p) => withDoc(p.textDocument.uri, [], (_doc, index) => documentSymbols(index)));
  connection.onFoldingRanges((p) => withDoc(p.textDocument.uri, [], (_doc, index) => foldingRanges(index)));
  connection.languages.semanticTokens.on((p) => withDoc(p.textDocument.uri, { data: [] }, (_doc, index) => semanticTokens(index)));

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  connection.onNotification(INCLUDE_PATHS_NOTIFICATION, (params: { includePaths?: unknown }) => {
    const list = Array.isArray(params?.includePaths) ? params.includePaths.filter((p): p is string => typeof p === 'string') : [];
    includePaths = list;
    for (const doc of documents.all()) schedule(doc.uri);
  });
  connection.onShutdown(() => {
    closed = true;
    scheduler.dispose();
  });
  documents.onDidClose((e) => {
    indexes.delete(e.document.uri);
    scheduler.forget(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  documents.listen(connection);
  connection.listen();
}
