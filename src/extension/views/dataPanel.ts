// One webview panel fed by a debug-session request: the VMM activity, the layers diagram and the compare chart
// are each a DataPanel. It opens (or reveals) a single panel, loads media/<script>.js under the strict CSP,
// posts `{ type: 'data', body }` whenever it fetched new data, and answers the page's messages: 'ready'
// (page loaded: send the newest data), 'refresh', and 'open' (a click on an event: open the guest's line).
// A page that never says 'ready' is opened again (up to three times, 4 s apart): in code-server the first webview of a fresh browser
// profile can stay on VS Code's webview loader (pre/index.html) because its service-worker handshake never
// completes, in the Node and the web extension host alike; the next webview finds the worker registered.
import * as vscode from 'vscode';
import { webviewOptions, webviewPage } from './webviewHtml';

/** Messages the pages send (media/*.js). */
type PageMessage = { readonly type: 'ready' } | { readonly type: 'refresh' } | { readonly type: 'open'; readonly path: string; readonly line: number };

/** How long a new page may take to say 'ready' before it is opened once more (its scripts load in well under a second). */
const PAGE_READY_TIMEOUT_MS = 4000;
const PAGE_READY_RETRIES = 3;

export interface DataPanelSpec<T> {
  readonly viewType: string;
  readonly title: string;
  /** media/<script>.js */
  readonly script: string;
  /** Static markup the script fills in (ids it looks up). */
  readonly body: string;
  fetch(session: vscode.DebugSession): Promise<T>;
}

export class DataPanel<T> implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private session: vscode.DebugSession | undefined;
  private latest: T | undefined;
  private pageReady = false;
  private fetching: Promise<T | undefined> | undefined;
  /** Milliseconds of the last fetch (request round trip), for the numbers the tests report. */
  lastFetchMs = 0;
  /** Pages opened again because they never said 'ready' (see open()), for the tests' report. */
  pageReloads = 0;

  constructor(private readonly extensionUri: vscode.Uri, private readonly spec: DataPanelSpec<T>) {}

  get webviewPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  /** Whether the page loaded its scripts and said 'ready' (the webview really runs, in any extension host). */
  get pageLoaded(): boolean {
    return this.pageReady;
  }

  /** The newest data the panel received (what the page draws). */
  get data(): T | undefined {
    return this.latest;
  }

  /** Opens or reveals the panel for a session and loads its data; resolves with the data sent to the page. */
  async show(session: vscode.DebugSession): Promise<T | undefined> {
    this.session = session;
    if (this.panel === undefined) this.open(vscode.ViewColumn.Beside, PAGE_READY_RETRIES);
    else this.panel.reveal(undefined, false);
    return this.refresh();
  }

  /**
   * Creates the panel and loads its page. In code-server's web extension host the very first webview of a
   * browser profile can stay blank: VS Code's webview frame (pre/index.html) shows content only after its
   * service-worker handshake, and for the first frame that handshake never completes (its index.html loads,
   * its content frame never does; the next frame finds the worker registered and loads). A page that has not
   * said 'ready' in time is therefore opened once more in a new panel, which then loads like any later one.
   */
  private open(column: vscode.ViewColumn, retries: number): void {
    const panel = vscode.window.createWebviewPanel(this.spec.viewType, this.spec.title, { viewColumn: column, preserveFocus: false }, webviewOptions(this.extensionUri, true));
    this.panel = panel;
    this.pageReady = false;
    // Listen before the page exists, so its 'ready' cannot be missed.
    panel.webview.onDidReceiveMessage((m: PageMessage) => {
      if (this.panel === panel) void this.onMessage(m);
    });
    panel.webview.html = webviewPage(panel.webview, this.extensionUri, { title: this.spec.title, body: this.spec.body, script: this.spec.script });
    panel.onDidDispose(() => {
      if (this.panel !== panel) return;
      this.panel = undefined;
      this.pageReady = false;
    });
    if (retries <= 0) return;
    setTimeout(() => {
      if (this.panel !== panel || this.pageReady) return;
      this.pageReloads++;
      const at = panel.viewColumn ?? vscode.ViewColumn.Beside;
      this.panel = undefined;
      panel.dispose();
      this.open(at, retries - 1);
    }, PAGE_READY_TIMEOUT_MS);
  }

  /** Fetches fresh data for the panel's session (coalesces concurrent refreshes). */
  refresh(): Promise<T | undefined> {
    const session = this.session;
    if (session === undefined || this.panel === undefined) return Promise.resolve(undefined);
    if (this.fetching !== undefined) return this.fetching;
    const started = Date.now();
    this.post({ type: 'busy' });
    this.fetching = this.spec.fetch(session).then(
      (data) => {
        this.lastFetchMs = Date.now() - started;
        this.latest = data;
        this.post({ type: 'data', body: data });
        return data;
      },
      (e: unknown) => {
        this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
        return undefined;
      },
    ).finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /** The session this panel shows ended: keep the last picture, say so. */
  sessionEnded(session: vscode.DebugSession): void {
    if (this.session?.id !== session.id) return;
    this.session = undefined;
    this.post({ type: 'ended' });
  }

  isShowing(session: vscode.DebugSession): boolean {
    return this.panel !== undefined && this.session?.id === session.id;
  }

  private post(message: unknown): void {
    if (this.panel !== undefined && this.pageReady) void this.panel.webview.postMessage(message);
  }

  private async onMessage(message: PageMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.pageReady = true;
        // Data fetched before the page listened was not posted (post() waits for 'ready'): send the newest now.
        if (this.latest !== undefined) this.post({ type: 'data', body: this.latest });
        break;
      case 'refresh':
        await this.refresh();
        break;
      case 'open':
        await openGuestLine(message.path, message.line);
        break;
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

/** Opens a guest source file at a 1-based line in the first editor column, selecting the line. */
export async function openGuestLine(path: string, line: number): Promise<vscode.TextEditor> {
  const uri = /^[a-z][a-z0-9+.-]*:/i.test(path) ? vscode.Uri.parse(path) : vscode.Uri.file(path);
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  return vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(position, position), preserveFocus: false });
}
