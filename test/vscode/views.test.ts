// The views of issue 8 inside the real VS Code extension host (code-server 1.100): a trap-and-emulate session of
// the hello sample (copied into the workspace) stopped after its first VMM trap (lgdt at CPL 1); the VMM activity, layers and compare commands open their
// webview panels (strict CSP, nonce'd scripts, nothing remote) with the session's data fetched through the same
// code path the panels use; the translation-cache and VMCS trees answer with children; the status bar names
// the technique. Prints how long the activity view took to populate with N events.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hyperStep, waitFor, workspaceFolder } from './helpers';

interface ActivityBody {
  readonly technique: string;
  readonly events: readonly { readonly seq: number; readonly kind: string; readonly reason: string; readonly location?: { path: string; line: number } }[];
  readonly histogram: readonly { readonly reason: string; readonly kind: string; readonly count: number }[];
  readonly cyclesPerLayer: readonly { readonly layer: string; readonly cycles: number }[];
}
interface LayersBody { readonly hypervisorType: string; readonly layers: readonly { layer: string }[]; readonly activePath: readonly string[] }
interface CompareBody { readonly rows: readonly { technique: string; outcome: string; totalCycles: number; countsByKind: Record<string, number> }[] }
interface Panel<T> { readonly webviewPanel: vscode.WebviewPanel | undefined; readonly data: T | undefined; readonly lastFetchMs: number; readonly pageLoaded: boolean; readonly pageReloads: number }
interface Tree { getChildren(element?: unknown): Promise<(vscode.TreeItem | unknown)[]>; getTreeItem(element: unknown): vscode.TreeItem }
/** The part of the extension's API (src/extension/views/index.ts HyperStepViews) these tests read; kept structural. */
interface ViewsApi {
  readonly views: {
    readonly activity: Panel<ActivityBody>;
    readonly layers: Panel<LayersBody>;
    readonly compare: Panel<CompareBody>;
    readonly translationCache: Tree;
    readonly vmcs: Tree;
    readonly statusBar: { readonly item: vscode.StatusBarItem };
  };
}

/** Stopped events each hyperstep session sent, counted by a debug adapter tracker. */
class StopCounter implements vscode.Disposable {
  readonly stops = new Map<string, number>();
  private readonly registration = vscode.debug.registerDebugAdapterTrackerFactory('hyperstep', {
    createDebugAdapterTracker: (session) => ({
      onDidSendMessage: (m: { type: string; event?: string }) => {
        if (m.type === 'event' && m.event === 'stopped') this.stops.set(session.id, (this.stops.get(session.id) ?? 0) + 1);
      },
    }),
  });

  waitForStop(session: vscode.DebugSession, count: number): Promise<true> {
    return waitFor(`stop #${count}`, () => ((this.stops.get(session.id) ?? 0) >= count ? true : undefined), 30_000);
  }

  dispose(): void {
    this.registration.dispose();
  }
}

/** The page's own script ran and said 'ready' (media/common.js), so the webview really draws. */
async function pageReady(panel: Panel<unknown>, viewType: string): Promise<void> {
  const started = Date.now();
  await waitFor(`the ${viewType} page to say ready`, () => (panel.pageLoaded ? true : undefined), 45_000);
  console.log(`      ${viewType} page ready after ${Date.now() - started} ms (reopened ${panel.pageReloads}×)`);
}

function checkWebview(panel: vscode.WebviewPanel | undefined, viewType: string): void {
  assert.ok(panel, `the ${viewType} webview panel was not created`);
  assert.equal(panel.viewType, viewType);
  const html = panel.webview.html;
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/, `weak CSP: ${csp}`);
  const nonce = /script-src 'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
  assert.ok(nonce, `no script nonce in the CSP: ${csp}`);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
  assert.ok(scripts.length >= 2 && scripts.every((s) => s.includes(`nonce="${nonce}"`)), 'every script carries the nonce');
  // Every resource is the extension's media/ folder served through the webview resource origin (asWebviewUri).
  const resources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(resources.length >= 3, 'the page loads its stylesheet and scripts');
  for (const url of resources) assert.match(url, /^https:\/\/[^/]*vscode-(cdn|resource)[^/]*\/.*\/media\/[a-z]+\.(js|css)$/, `not a local media resource: ${url}`);
}

suite('hyperstep views in VS Code', function () {
  this.timeout(120_000);
  let counter: StopCounter;
  let session: vscode.DebugSession;
  let api: ViewsApi;
  let hello: vscode.Uri;

  suiteSetup(async () => {
    counter = new StopCounter();
    api = (await hyperStep().activate()) as unknown as ViewsApi;
    hello = vscode.Uri.joinPath(workspaceFolder().uri, 'views-hello.asm');
    await vscode.workspace.fs.copy(vscode.Uri.file(path.join(hyperStep().extensionPath, 'samples', 'hello', 'hello.asm')), hello, { overwrite: true });
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const l = vscode.debug.onDidStartDebugSession((s) => {
        if (s.type === 'hyperstep') {
          l.dispose();
          resolve(s);
        }
      });
    });
    assert.equal(await vscode.debug.startDebugging(workspaceFolder(), {
      type: 'hyperstep', request: 'launch', name: 'views: hello', program: hello.fsPath, technique: 'trap-and-emulate', architecture: 'monolithic', stopOnEntry: true,
    }), true);
    session = await started;
    await counter.waitForStop(session, 1);
    // Stop on the first trap the VMM takes, the lgdt (the session's own exception filter request).
    await session.customRequest('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: 'lgdt' }] });
    await session.customRequest('continue', { threadId: 1 });
    await counter.waitForStop(session, 2);
  });

  suiteTeardown(async () => {
    counter.dispose();
    if (vscode.debug.activeDebugSession !== undefined) await vscode.debug.stopDebugging();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('the status bar names the technique and architecture of the session', async () => {
    const item = api.views.statusBar.item;
    await waitFor('the status bar text', () => (/trap-and-emulate · monolithic/.test(item.text) ? true : undefined));
    assert.doesNotMatch(item.text, /REVERSE/);
  });

  test('HyperStep: Show VMM Activity opens the webview with the trap counts of the running session', async () => {
    const started = Date.now();
    const body = (await vscode.commands.executeCommand('hyperstep.showActivity')) as ActivityBody | undefined;
    const elapsed = Date.now() - started;
    assert.ok(body, 'the command returned no data');
    checkWebview(api.views.activity.webviewPanel, 'hyperstep.activity');
    await pageReady(api.views.activity, 'hyperstep.activity');
    assert.equal(api.views.activity.data, body, 'the panel holds the data the command fetched');
    assert.equal(body.technique, 'trap-and-emulate');
    const traps = body.histogram.filter((h) => h.kind === 'trap').reduce((s, h) => s + h.count, 0);
    assert.ok(traps > 0, 'no traps in the histogram');
    assert.equal(body.histogram.find((h) => /#GP: lgdt/.test(h.reason))?.count, 1, 'the first lgdt trap is counted once');
    const lgdt = body.events.find((e) => /#GP: lgdt/.test(e.reason));
    assert.ok(lgdt?.location?.path.endsWith('views-hello.asm'), `the lgdt event is not located in the guest source: ${JSON.stringify(lgdt)}`);
    const lgdtLine = new TextDecoder().decode(await vscode.workspace.fs.readFile(hello)).split('\n').findIndex((l) => /^\s*lgdt\b/.test(l)) + 1;
    assert.equal(lgdt?.location?.line, lgdtLine, 'the event points at the lgdt line');
    assert.ok(body.cyclesPerLayer.some((l) => l.layer === 'vmm' && l.cycles > 0));
    console.log(`      activity view: ${body.events.length} events, ${traps} traps; command → data in ${elapsed} ms (request ${api.views.activity.lastFetchMs} ms)`);
  });

  test('HyperStep: Show Layers Diagram draws the monolithic type 1 configuration with the current path', async () => {
    const body = (await vscode.commands.executeCommand('hyperstep.showLayers')) as LayersBody | undefined;
    assert.ok(body);
    checkWebview(api.views.layers.webviewPanel, 'hyperstep.layers');
    await pageReady(api.views.layers, 'hyperstep.layers');
    assert.equal(body.hypervisorType, 'type 1');
    assert.deepEqual(body.layers.map((l) => l.layer), ['guest-user', 'guest-kernel', 'vmm', 'device']);
    assert.ok(body.activePath.includes('guest-kernel'), `active path: ${body.activePath.join(' ← ')}`);
  });

  test('the translation-cache and VMCS trees answer for the session (with the reason under trap-and-emulate)', async () => {
    for (const [tree, pattern] of [[api.views.translationCache, /no translation cache/], [api.views.vmcs, /no VMCS/]] as const) {
      const children = await tree.getChildren();
      assert.equal(children.length, 1);
      const label = tree.getTreeItem(children[0]).label;
      assert.match(typeof label === 'string' ? label : label?.label ?? '', pattern);
    }
  });

  test('HyperStep: Compare Techniques runs the guest under each technique and charts the rows', async () => {
    const started = Date.now();
    const body = (await vscode.commands.executeCommand('hyperstep.compareTechniques', { techniques: ['native', 'trap-and-emulate'] })) as CompareBody | undefined;
    assert.ok(body, 'the compare command returned no data');
    checkWebview(api.views.compare.webviewPanel, 'hyperstep.compare');
    await pageReady(api.views.compare, 'hyperstep.compare');
    const [native, tae] = body.rows;
    assert.equal(native?.outcome, 'exit 0x1');
    assert.equal(tae?.outcome, native.outcome, 'hello behaves the same under trap-and-emulate (equivalence)');
    assert.ok((tae?.countsByKind['trap'] ?? 0) > 0 && (native?.countsByKind['trap'] ?? 0) === 0);
    assert.ok(tae!.totalCycles > native!.totalCycles);
    console.log(`      compare (2 techniques, hello): ${Date.now() - started} ms`);
  });

  test('a session with many transitions: the activity view fetches them all', async () => {
    const lines = new TextDecoder().decode(await vscode.workspace.fs.readFile(hello)).split('\n');
    const exitLine = lines.findIndex((l) => /^\s*out DEBUG_EXIT/.test(l));
    await session.customRequest('setExceptionBreakpoints', { filters: [] });
    const bp = new vscode.SourceBreakpoint(new vscode.Location(hello, new vscode.Position(exitLine, 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      const before = counter.stops.get(session.id) ?? 0;
      await session.customRequest('continue', { threadId: 1 });
      await counter.waitForStop(session, before + 1);
      const started = Date.now();
      const body = (await vscode.commands.executeCommand('hyperstep.showActivity')) as ActivityBody;
      const elapsed = Date.now() - started;
      assert.ok(body.events.length > 400, `only ${body.events.length} events before the guest exits`);
      assert.ok(body.histogram.some((h) => h.kind === 'interrupt-injection' && h.count > 0), 'the VMM injected timer interrupts');
      console.log(`      activity view populated with ${body.events.length} events in ${elapsed} ms (request ${api.views.activity.lastFetchMs} ms)`);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  });
});

suite('hyperstep views across techniques in VS Code', function () {
  this.timeout(120_000);
  let counter: StopCounter;
  let api: ViewsApi & { readonly views: { readonly translation: { readonly webviewPanel: vscode.WebviewPanel | undefined } } };
  let hello: vscode.Uri;

  /** Starts a hello session under `technique`, stopped on entry. */
  async function start(technique: string): Promise<vscode.DebugSession> {
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const l = vscode.debug.onDidStartDebugSession((s) => {
        if (s.type === 'hyperstep') {
          l.dispose();
          resolve(s);
        }
      });
    });
    assert.equal(await vscode.debug.startDebugging(workspaceFolder(), { type: 'hyperstep', request: 'launch', name: `trees: ${technique}`, program: hello.fsPath, technique, stopOnEntry: true }), true);
    const session = await started;
    await counter.waitForStop(session, 1);
    return session;
  }

  async function stop(session: vscode.DebugSession): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      const l = vscode.debug.onDidTerminateDebugSession((s) => {
        if (s.id === session.id) {
          l.dispose();
          resolve();
        }
      });
    });
    await vscode.debug.stopDebugging(session);
    await ended;
  }

  suiteSetup(async () => {
    counter = new StopCounter();
    api = (await hyperStep().activate()) as unknown as typeof api;
    hello = vscode.Uri.joinPath(workspaceFolder().uri, 'views-hello.asm');
    await vscode.workspace.fs.copy(vscode.Uri.file(path.join(hyperStep().extensionPath, 'samples', 'hello', 'hello.asm')), hello, { overwrite: true });
  });

  suiteTeardown(async () => {
    counter.dispose();
    if (vscode.debug.activeDebugSession !== undefined) await vscode.debug.stopDebugging();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('binary translation: the translation-cache tree lists translations and opens one side by side', async () => {
    const session = await start('binary-translation');
    await session.customRequest('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: '' }] });
    await session.customRequest('continue', { threadId: 1 });
    await counter.waitForStop(session, 2);
    const tree = api.views.translationCache;
    const children = await waitFor('translations in the tree', async () => {
      const list = await tree.getChildren();
      return list.length > 1 ? list : undefined;
    });
    const items = children.map((c) => tree.getTreeItem(c));
    const translation = items.find((i) => i.command?.command === 'hyperstep.openTranslation');
    assert.ok(translation, `no translation item: ${items.map((i) => String(i.label)).join(' | ')}`);
    assert.match(String(translation.label), /^#\d+ 0x[0-9a-f]+–0x[0-9a-f]+$/);
    await vscode.commands.executeCommand(translation.command!.command, ...(translation.command!.arguments ?? []));
    const panel = api.views.translation.webviewPanel;
    assert.ok(panel, 'opening a translation did not create its webview');
    assert.match(panel.webview.html, /original guest code<\/th><th>translated code/);
    assert.match(panel.webview.html, /default-src 'none'/);
    await stop(session);
  });

  test('a step back badges the status bar REVERSE until the session runs forward again', async () => {
    const session = await start('native');
    const item = api.views.statusBar.item;
    for (let i = 0; i < 2; i++) {
      await session.customRequest('next', { threadId: 1 });
      await counter.waitForStop(session, 2 + i);
    }
    await waitFor('the native status', () => (/native · monolithic/.test(item.text) ? true : undefined));
    assert.doesNotMatch(item.text, /REVERSE/);
    await session.customRequest('stepBack', { threadId: 1 });
    await counter.waitForStop(session, 4);
    await waitFor(`the REVERSE badge (status: ${item.text})`, () => (/REVERSE/.test(item.text) ? true : undefined));
    await session.customRequest('next', { threadId: 1 });
    await counter.waitForStop(session, 5);
    await waitFor(`the badge to go (status: ${item.text})`, () => (/REVERSE/.test(item.text) ? undefined : true));
    await stop(session);
  });

  test('the Getting Started walkthrough and the view commands are contributed', async () => {
    const contributes = hyperStep().packageJSON.contributes as { walkthroughs: { id: string; steps: { id: string }[] }[] };
    const walkthrough = contributes.walkthroughs.find((w) => w.id === 'hyperstep.gettingStarted');
    assert.deepEqual(walkthrough?.steps.map((s) => s.id), ['openSample', 'startDebugging', 'firstTrap', 'activity']);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['hyperstep.showActivity', 'hyperstep.compareTechniques', 'hyperstep.showLayers', 'hyperstep.openSample']) assert.ok(commands.includes(id), `${id} is not registered`);
    const editor = (await vscode.commands.executeCommand('hyperstep.openSample')) as vscode.TextEditor;
    assert.match(editor.document.uri.path, /hyperstep-samples\/vmm\/popf-demo\.asm$/, 'the walkthrough opens the POPF sample in the workspace');
  });

  test('hardware assist: the VMCS tree shows the SDM groups and their decoded fields', async () => {
    const session = await start('hardware-assisted');
    const lines = new TextDecoder().decode(await vscode.workspace.fs.readFile(hello)).split('\n');
    const bp = new vscode.SourceBreakpoint(new vscode.Location(hello, new vscode.Position(lines.findIndex((l) => /^\s*sti\b/.test(l)), 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      await session.customRequest('continue', { threadId: 1 });
      await counter.waitForStop(session, 2);
      const tree = api.views.vmcs;
      const roots = await tree.getChildren();
      const groups = roots.slice(1);
      const names = groups.map((g) => String(tree.getTreeItem(g).label));
      assert.ok(names.includes('Guest-state area') && names.includes('VM-exit information fields'), `groups: ${names.join(', ')}`);
      const fields = await tree.getChildren(groups[names.indexOf('Guest-state area')]);
      assert.ok(fields.length > 5, 'the guest-state group has its fields');
      const described = fields.map((f) => tree.getTreeItem(f)).map((i) => `${String(i.label)} ${String(i.description)}`);
      assert.ok(described.some((d) => /RIP|EIP/i.test(d)), `no guest RIP field: ${described.slice(0, 8).join(' | ')}`);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
      await stop(session);
    }
  });
});
