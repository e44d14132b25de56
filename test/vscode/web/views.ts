// The views of issue 8 in the web-worker extension host: a trap-and-emulate session of the POPF sample (copied
// into the workspace by the walkthrough's Open Sample command) runs on the inline adapter in the worker, stops
// at its first VMM trap, and the layers, VMM activity and compare commands open their webview panels (strict
// CSP; each page's scripts load from media/ and say they are ready) with data fetched through session.customRequest.
import * as vscode from 'vscode';

type Check = [string, () => Promise<void>];
type Assert = (condition: unknown, message: string) => asserts condition;
type WaitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) => Promise<T>;

interface ActivityBody { readonly technique: string; readonly histogram: readonly { readonly reason: string; readonly kind: string; readonly count: number }[] }
interface LayersBody { readonly hypervisorType: string; readonly layers: readonly { layer: string }[]; readonly activePath: readonly string[] }
interface Panel<T> { readonly webviewPanel: vscode.WebviewPanel | undefined; readonly data: T | undefined; readonly pageLoaded: boolean; readonly pageReloads: number }
interface CompareBody { readonly rows: readonly { technique: string; outcome: string; countsByKind: Record<string, number> }[] }
interface ViewsApi { readonly views: { readonly activity: Panel<ActivityBody>; readonly layers: Panel<LayersBody>; readonly compare: Panel<CompareBody> } }

/** The page's own script ran and said 'ready' (media/common.js): the webview really draws in this host. */
async function pageReady(panel: Panel<unknown>, viewType: string, waitFor: WaitFor): Promise<void> {
  const started = Date.now();
  await waitFor(`the ${viewType} page to say ready`, async () => (panel.pageLoaded ? true : undefined), 45_000);
  console.log(`HYPERSTEP_WEB_PAGE_READY ${viewType} after ${Date.now() - started} ms (reopened ${panel.pageReloads}x)`);
}

function checkWebview(check: Assert, panel: vscode.WebviewPanel | undefined, viewType: string): void {
  check(panel, `the ${viewType} webview panel was not created`);
  check(panel.viewType === viewType, `panel type ${panel.viewType}`);
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(panel.webview.html)?.[1] ?? '';
  check(/default-src 'none'/.test(csp) && /script-src 'nonce-[0-9a-f]{32}'/.test(csp), `weak CSP: ${csp}`);
}

/** The checks, run by web/index.ts's runner after activation (they share its assert and wait helpers). */
export function viewChecks(extensionId: string, check: Assert, waitFor: WaitFor): Check[] {
  let session: vscode.DebugSession | undefined;
  let api: ViewsApi | undefined;
  let stops = 0;
  return [
    ['a trap-and-emulate session of the POPF sample runs on the inline adapter and stops at its first VMM trap', async () => {
      const extension = vscode.extensions.getExtension(extensionId);
      check(extension, `${extensionId} is not loaded`);
      api = (await extension.activate()) as ViewsApi;
      const tracker = vscode.debug.registerDebugAdapterTrackerFactory('hyperstep', {
        createDebugAdapterTracker: () => ({ onDidSendMessage: (m: { type: string; event?: string }) => { if (m.type === 'event' && m.event === 'stopped') stops++; } }),
      });
      const editor = (await vscode.commands.executeCommand('hyperstep.openSample')) as vscode.TextEditor;
      const folder = vscode.workspace.workspaceFolders![0]!;
      const started = new Promise<vscode.DebugSession>((resolve) => {
        const l = vscode.debug.onDidStartDebugSession((s) => { if (s.type === 'hyperstep') { l.dispose(); resolve(s); } });
      });
      // A plain path: the inline adapter reads it (and its %includes) on the workspace folder's file system.
      const ok = await vscode.debug.startDebugging(folder, {
        type: 'hyperstep', request: 'launch', name: 'web views: POPF', program: editor.document.uri.path, technique: 'trap-and-emulate', stopOnEntry: true,
      });
      check(ok, 'startDebugging returned false');
      session = await started;
      await waitFor('the entry stop', async () => (stops >= 1 ? true : undefined), 30_000);
      await session.customRequest('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmm-trap', condition: '' }] });
      await session.customRequest('continue', { threadId: 1 });
      await waitFor('the stop at the first trap', async () => (stops >= 2 ? true : undefined), 30_000);
      tracker.dispose();
    }],
    ['HyperStep: Show Layers Diagram opens its webview in the web host with the running configuration', async () => {
      check(session && api, 'no session (the first view check failed)');
      const body = (await vscode.commands.executeCommand('hyperstep.showLayers')) as LayersBody | undefined;
      check(body, 'the command returned no data');
      checkWebview(check, api.views.layers.webviewPanel, 'hyperstep.layers');
      await pageReady(api.views.layers, 'hyperstep.layers', waitFor);
      check(body.hypervisorType === 'type 1', `hypervisor type ${body.hypervisorType}`);
      check(body.layers.some((l) => l.layer === 'vmm') && body.activePath.length > 0, `layers ${JSON.stringify(body)}`);
    }],
    ['HyperStep: Show VMM Activity opens its webview in the web host with the trap counts of the session', async () => {
      check(session && api, 'no session (the previous check failed)');
      const body = (await vscode.commands.executeCommand('hyperstep.showActivity')) as ActivityBody | undefined;
      check(body, 'the command returned no data');
      checkWebview(check, api.views.activity.webviewPanel, 'hyperstep.activity');
      await pageReady(api.views.activity, 'hyperstep.activity', waitFor);
      check(body.technique === 'trap-and-emulate', `technique ${body.technique}`);
      const traps = body.histogram.filter((h) => h.kind === 'trap').reduce((s, h) => s + h.count, 0);
      check(traps > 0, `no traps in the histogram: ${JSON.stringify(body.histogram)}`);
      console.log(`HYPERSTEP_WEB_VIEWS activity traps=${traps} reasons=${body.histogram.map((h) => h.reason).join(', ')}`);
    }],
    ['HyperStep: Compare Techniques opens its webview in the web host and the page draws the rows', async () => {
      check(session && api, 'no session (the previous check failed)');
      const body = (await vscode.commands.executeCommand('hyperstep.compareTechniques', { techniques: ['native', 'trap-and-emulate'], maxInstructions: 2_000_000 })) as CompareBody | undefined;
      check(body, 'the command returned no data');
      checkWebview(check, api.views.compare.webviewPanel, 'hyperstep.compare');
      await pageReady(api.views.compare, 'hyperstep.compare', waitFor);
      check(body.rows.map((r) => r.technique).join() === 'native,trap-and-emulate', `rows ${JSON.stringify(body.rows)}`);
      check((body.rows[1]!.countsByKind['trap'] ?? 0) > 0 && (body.rows[0]!.countsByKind['trap'] ?? 0) === 0, `trap counts ${JSON.stringify(body.rows)}`);
      await vscode.debug.stopDebugging(session);
    }],
  ];
}
