// Registers the views that make virtualization visible (issue 8): the VMM activity, compare and layers
// webview panels, the translation-cache and VMCS trees, the session status bar item, and the commands the
// Getting Started walkthrough uses. Everything is fed by the debug session's custom requests
// (sessionData.ts) and refreshed on the adapter's `hyperstep.sessionInfo` event. Returns handles the
// extension-host tests inspect (panels, their data, tree providers).
import * as vscode from 'vscode';
import type { CompareArguments } from '../../debug-adapter/viewProtocol';
import type { TranslationInfo } from '../../emulator/vmm/inspection';
import { DataPanel } from './dataPanel';
import { OPEN_TRANSLATION_COMMAND, TranslationCacheTree, VmcsTree } from './inspectionTrees';
import {
  activeHyperStepSession, requestActivity, requestCompare, requestLayers, SessionInfoTracker,
  type ActivityResponseBody, type CompareResponseBody, type LayersResponseBody,
} from './sessionData';
import { SessionStatusBar, SHOW_LAYERS_COMMAND } from './statusBar';
import { TranslationPanel } from './translationPanel';

export const VIEW_COMMANDS = {
  showActivity: 'hyperstep.showActivity',
  compareTechniques: 'hyperstep.compareTechniques',
  showLayers: SHOW_LAYERS_COMMAND,
  openTranslation: OPEN_TRANSLATION_COMMAND,
  openSample: 'hyperstep.openSample',
} as const;

export const TREE_VIEW_IDS = { translationCache: 'hyperstep.translationCache', vmcs: 'hyperstep.vmcs' } as const;

/** The sample the walkthrough opens: the POPF lesson (a trap on its first cli). */
export const WALKTHROUGH_SAMPLE = ['samples', 'vmm', 'popf-demo.asm'] as const;

export interface HyperStepViews {
  readonly activity: DataPanel<ActivityResponseBody>;
  readonly compare: DataPanel<CompareResponseBody>;
  readonly layers: DataPanel<LayersResponseBody>;
  readonly translationCache: TranslationCacheTree;
  readonly vmcs: VmcsTree;
  readonly translation: TranslationPanel;
  readonly statusBar: SessionStatusBar;
  readonly sessionInfo: SessionInfoTracker;
}

/** The HyperStep session to show, or a message telling the user how to get one. */
function requireSession(): vscode.DebugSession | undefined {
  const session = activeHyperStepSession();
  if (session === undefined) void vscode.window.showInformationMessage('Start a HyperStep debug session first (open a guest .asm file and press F5).');
  return session;
}

export function registerViews(context: vscode.ExtensionContext): HyperStepViews {
  const uri = context.extensionUri;
  const sessionInfo = new SessionInfoTracker();
  let compareArgs: CompareArguments = {};
  const views: HyperStepViews = {
    activity: new DataPanel(uri, {
      viewType: 'hyperstep.activity', title: 'VMM Activity', script: 'activity',
      body: '<header id="header"></header><section id="timeline"></section><div class="columns"><section id="histogram"></section><section id="layers"></section></div><section id="events"></section>',
      fetch: (session) => requestActivity(session, { max: 2000 }),
    }),
    compare: new DataPanel(uri, {
      viewType: 'hyperstep.compare', title: 'Compare Techniques', script: 'compare',
      body: '<header id="header"></header><section id="cycles"></section><section id="counts"></section><section id="table"></section>',
      fetch: (session) => requestCompare(session, compareArgs),
    }),
    layers: new DataPanel(uri, {
      viewType: 'hyperstep.layers', title: 'Hypervisor Layers', script: 'layers',
      body: '<header id="header"></header><section id="diagram"></section><section id="legend"></section>',
      fetch: (session) => requestLayers(session),
    }),
    translationCache: new TranslationCacheTree(),
    vmcs: new VmcsTree(),
    translation: new TranslationPanel(uri),
    statusBar: new SessionStatusBar(sessionInfo),
    sessionInfo,
  };

  context.subscriptions.push(
    sessionInfo, views.activity, views.compare, views.layers, views.translationCache, views.vmcs, views.translation, views.statusBar,
    vscode.window.registerTreeDataProvider(TREE_VIEW_IDS.translationCache, views.translationCache),
    vscode.window.registerTreeDataProvider(TREE_VIEW_IDS.vmcs, views.vmcs),
    vscode.commands.registerCommand(VIEW_COMMANDS.showActivity, async () => {
      const session = requireSession();
      return session === undefined ? undefined : views.activity.show(session);
    }),
    vscode.commands.registerCommand(VIEW_COMMANDS.compareTechniques, async (args?: CompareArguments) => {
      const session = requireSession();
      if (session === undefined) return undefined;
      compareArgs = args ?? {};
      return vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'HyperStep: running the guest under every technique…' },
        () => views.compare.show(session),
      );
    }),
    vscode.commands.registerCommand(VIEW_COMMANDS.showLayers, async () => {
      const session = requireSession();
      return session === undefined ? undefined : views.layers.show(session);
    }),
    vscode.commands.registerCommand(VIEW_COMMANDS.openTranslation, (translation: TranslationInfo) => views.translation.show(translation)),
    vscode.commands.registerCommand(VIEW_COMMANDS.openSample, () => openSample(context)),
    sessionInfo.onDidChange(({ session, info }) => {
      views.translationCache.refresh();
      views.vmcs.refresh();
      for (const panel of [views.activity, views.layers]) {
        if (info === undefined) panel.sessionEnded(session);
        else if (panel.isShowing(session)) void panel.refresh();
      }
      if (info === undefined) views.compare.sessionEnded(session);
    }),
  );
  return views;
}

/**
 * Opens the walkthrough's sample: copied into the first workspace folder (so F5 debugs a workspace file and
 * the student can edit it), or straight from the extension when no folder is open.
 */
async function openSample(context: vscode.ExtensionContext): Promise<vscode.TextEditor> {
  const bundled = vscode.Uri.joinPath(context.extensionUri, ...WALKTHROUGH_SAMPLE);
  const folder = vscode.workspace.workspaceFolders?.[0];
  let target = bundled;
  if (folder !== undefined) {
    const samples = vscode.Uri.joinPath(folder.uri, 'hyperstep-samples');
    const exists = await vscode.workspace.fs.stat(samples).then(() => true, () => false);
    if (!exists) await vscode.workspace.fs.copy(vscode.Uri.joinPath(context.extensionUri, 'samples'), samples);
    target = vscode.Uri.joinPath(samples, ...WALKTHROUGH_SAMPLE.slice(1));
  }
  return vscode.window.showTextDocument(target, { preview: false });
}
