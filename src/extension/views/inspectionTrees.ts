// The two inspection trees of the Run and Debug side bar. Translation cache (binary translation): one item
// per translation with its guest range and hit count; opening one shows original and translated code side by
// side (translationPanel.ts). VMCS (hardware assist): the fields grouped as SDM Vol. 3C 25.3–25.9 group them,
// each with its raw value and decoded meaning. Both refresh at every stop and, when the session's technique
// has no such structure, show the adapter's reason as their only item.
import * as vscode from 'vscode';
import type { TranslationInfo, VmcsFieldValue, VmcsGroup } from '../../emulator/vmm/inspection';
import { activeHyperStepSession, requestTranslationCache, requestVmcs } from './sessionData';

export const OPEN_TRANSLATION_COMMAND = 'hyperstep.openTranslation';

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** A tree item that only says something (no session, not available, an error). */
function messageItem(text: string, tooltip?: string): vscode.TreeItem {
  const item = new vscode.TreeItem(text, vscode.TreeItemCollapsibleState.None);
  item.iconPath = new vscode.ThemeIcon('info');
  if (tooltip !== undefined) item.tooltip = tooltip;
  return item;
}

abstract class SessionTree<E> implements vscode.TreeDataProvider<E | vscode.TreeItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  getTreeItem(element: E | vscode.TreeItem): vscode.TreeItem {
    return element instanceof vscode.TreeItem ? element : this.itemOf(element);
  }

  async getChildren(element?: E | vscode.TreeItem): Promise<(E | vscode.TreeItem)[]> {
    if (element instanceof vscode.TreeItem) return [];
    if (element !== undefined) return this.childrenOf(element);
    const session = activeHyperStepSession();
    if (session === undefined) return [messageItem('Start a HyperStep debug session to inspect it.')];
    try {
      return await this.roots(session);
    } catch (e) {
      return [messageItem(`Not available: ${e instanceof Error ? e.message : String(e)}`)];
    }
  }

  protected abstract roots(session: vscode.DebugSession): Promise<(E | vscode.TreeItem)[]>;
  protected abstract itemOf(element: E): vscode.TreeItem;
  protected abstract childrenOf(element: E): E[];
}

/** Translation-cache tree elements: translations (leaves; opening shows the side-by-side page). */
export type TranslationElement = { readonly kind: 'translation'; readonly translation: TranslationInfo };

export class TranslationCacheTree extends SessionTree<TranslationElement> {
  protected async roots(session: vscode.DebugSession): Promise<(TranslationElement | vscode.TreeItem)[]> {
    const body = await requestTranslationCache(session);
    if (!body.available || body.cache === undefined) return [messageItem(body.reason ?? 'No translation cache in this session.')];
    const cache = body.cache;
    const counters = Object.entries(cache.counters).map(([k, v]) => `${k} ${v}`).join(', ');
    const summary = messageItem(`${cache.translations.length} translations, ${cache.usedBytes} of ${cache.capacityBytes} bytes`, counters);
    summary.iconPath = new vscode.ThemeIcon('database');
    return [summary, ...cache.translations.map((translation): TranslationElement => ({ kind: 'translation', translation }))];
  }

  protected itemOf(element: TranslationElement): vscode.TreeItem {
    const t = element.translation;
    const rewritten = t.instructions.filter((i) => i.rewrite !== 'ident').length;
    const item = new vscode.TreeItem(`#${t.id} ${hex(t.guestStart)}–${hex(t.guestEnd)}`, vscode.TreeItemCollapsibleState.None);
    item.description = `${t.hits} hits · ${t.instructions.length} insns, ${rewritten} rewritten${t.invalidated !== undefined ? ' · invalidated' : ''}`;
    item.tooltip = `Translation ${t.id}: guest ${hex(t.guestStart)}–${hex(t.guestEnd)} → TC ${hex(t.tcStart)}–${hex(t.tcEnd)}${t.invalidated !== undefined ? `\nInvalidated: ${t.invalidated}` : ''}`;
    item.iconPath = new vscode.ThemeIcon(rewritten > 0 ? 'symbol-event' : 'symbol-method');
    item.command = { command: OPEN_TRANSLATION_COMMAND, title: 'Open translation', arguments: [t] };
    return item;
  }

  protected childrenOf(): TranslationElement[] {
    return [];
  }
}

/** VMCS tree elements: SDM groups, then fields. */
export type VmcsElement = { readonly kind: 'group'; readonly group: VmcsGroup } | { readonly kind: 'field'; readonly field: VmcsFieldValue };

export class VmcsTree extends SessionTree<VmcsElement> {
  protected async roots(session: vscode.DebugSession): Promise<(VmcsElement | vscode.TreeItem)[]> {
    const body = await requestVmcs(session);
    if (!body.available || body.vmcs === undefined) return [messageItem(body.reason ?? 'No VMCS in this session.')];
    const vmcs = body.vmcs;
    const header = messageItem(`VMCS ${vmcs.pointer !== undefined ? hex(vmcs.pointer) : '(no pointer)'} · launch state ${vmcs.launchState}`);
    header.iconPath = new vscode.ThemeIcon('chip');
    return [header, ...vmcs.groups.map((group): VmcsElement => ({ kind: 'group', group }))];
  }

  protected itemOf(element: VmcsElement): vscode.TreeItem {
    if (element.kind === 'group') {
      const item = new vscode.TreeItem(element.group.name, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${element.group.fields.length} fields`;
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      return item;
    }
    const f = element.field;
    const item = new vscode.TreeItem(f.name, vscode.TreeItemCollapsibleState.None);
    item.description = f.decoded === undefined ? f.value : `${f.value} — ${f.decoded}`;
    item.tooltip = `${f.name} (encoding ${hex(f.encoding).replace('0x', '0x').padStart(6, '0')})\n${f.value}${f.decoded !== undefined ? `\n${f.decoded}` : ''}`;
    return item;
  }

  protected childrenOf(element: VmcsElement): VmcsElement[] {
    return element.kind === 'group' ? element.group.fields.map((field): VmcsElement => ({ kind: 'field', field })) : [];
  }
}
