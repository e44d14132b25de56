// The status bar item of a HyperStep session: technique and architecture of the active session, and a
// reverse-mode badge while the session is stopped after stepBack / reverseContinue. Fed by the adapter's
// `hyperstep.sessionInfo` event (after launch and at every stop); clicking it opens the layers diagram.
import * as vscode from 'vscode';
import { activeHyperStepSession, type SessionInfoEventBody, type SessionInfoTracker } from './sessionData';

export const SHOW_LAYERS_COMMAND = 'hyperstep.showLayers';

/** The item's text for a session's info: "$(server-process) trap-and-emulate · monolithic", reverse badged. */
export function statusText(info: SessionInfoEventBody): string {
  const base = `$(server-process) ${info.technique} · ${info.architecture}`;
  return info.reverse ? `$(debug-reverse-continue) REVERSE · ${base}` : base;
}

export class SessionStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly tracker: SessionInfoTracker) {
    this.item = vscode.window.createStatusBarItem('hyperstep.session', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'HyperStep session';
    this.item.command = SHOW_LAYERS_COMMAND;
    this.subscription = tracker.onDidChange(() => this.update());
    this.update();
  }

  /** Shows the active session's configuration, or hides the item when no HyperStep session is active. */
  update(): void {
    const info = this.tracker.infoOf(activeHyperStepSession());
    if (info === undefined) {
      this.item.hide();
      return;
    }
    this.item.text = statusText(info);
    this.item.tooltip = `HyperStep: ${info.technique} on a ${info.architecture} hypervisor, cost model ${info.costModel}${info.reverse ? ' — stopped in REVERSE mode (after a step back)' : ''}. Click for the layers diagram.`;
    this.item.backgroundColor = info.reverse ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
