// Data access for the views: the hyperstep debug session to read from and typed wrappers around
// `session.customRequest` for the requests of src/debug-adapter/viewProtocol.ts. The views never touch
// emulator objects; everything they draw arrives here as JSON over DAP, from the inline adapter, the stdio
// process or a --server adapter alike. No Node APIs (the extension also runs in the web extension host).
import * as vscode from 'vscode';
import type {
  ActivityArguments, ActivityResponseBody, CompareArguments, CompareResponseBody, LayersResponseBody, SessionInfoEventBody,
  TranslationCacheResponseBody, VmcsResponseBody,
} from '../../debug-adapter/viewProtocol';
import { SESSION_INFO_EVENT, ViewRequest } from '../../debug-adapter/viewProtocol';
import { DEBUG_TYPE } from '../ids';

export type { ActivityResponseBody, CompareResponseBody, LayersResponseBody, SessionInfoEventBody, TranslationCacheResponseBody, VmcsResponseBody };

/** The active debug session when it is a HyperStep one. */
export function activeHyperStepSession(): vscode.DebugSession | undefined {
  const session = vscode.debug.activeDebugSession;
  return session?.type === DEBUG_TYPE ? session : undefined;
}

export const requestActivity = (session: vscode.DebugSession, args: ActivityArguments = {}): Promise<ActivityResponseBody> =>
  Promise.resolve(session.customRequest(ViewRequest.activity, args)) as Promise<ActivityResponseBody>;

export const requestCompare = (session: vscode.DebugSession, args: CompareArguments = {}): Promise<CompareResponseBody> =>
  Promise.resolve(session.customRequest(ViewRequest.compare, args)) as Promise<CompareResponseBody>;

export const requestLayers = (session: vscode.DebugSession): Promise<LayersResponseBody> =>
  Promise.resolve(session.customRequest(ViewRequest.layers, {})) as Promise<LayersResponseBody>;

export const requestTranslationCache = (session: vscode.DebugSession): Promise<TranslationCacheResponseBody> =>
  Promise.resolve(session.customRequest(ViewRequest.translationCache, {})) as Promise<TranslationCacheResponseBody>;

export const requestVmcs = (session: vscode.DebugSession): Promise<VmcsResponseBody> =>
  Promise.resolve(session.customRequest(ViewRequest.vmcs, {})) as Promise<VmcsResponseBody>;

/**
 * The newest `hyperstep.sessionInfo` of each session (the adapter sends one after launch and at every stop),
 * and an event the views refresh on. Sessions that ended are forgotten.
 */
export class SessionInfoTracker implements vscode.Disposable {
  private readonly latest = new Map<string, SessionInfoEventBody>();
  private readonly changed = new vscode.EventEmitter<{ session: vscode.DebugSession; info: SessionInfoEventBody | undefined }>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.subscriptions = [
      vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
        if (e.session.type !== DEBUG_TYPE || e.event !== SESSION_INFO_EVENT) return;
        const info = e.body as SessionInfoEventBody;
        this.latest.set(e.session.id, info);
        this.changed.fire({ session: e.session, info });
      }),
      vscode.debug.onDidTerminateDebugSession((session) => {
        if (!this.latest.delete(session.id)) return;
        this.changed.fire({ session, info: undefined });
      }),
      vscode.debug.onDidChangeActiveDebugSession((session) => {
        if (session !== undefined && session.type === DEBUG_TYPE) this.changed.fire({ session, info: this.latest.get(session.id) });
      }),
      this.changed,
    ];
  }

  infoOf(session: vscode.DebugSession | undefined): SessionInfoEventBody | undefined {
    return session === undefined ? undefined : this.latest.get(session.id);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
