// The side-by-side page of one binary translation (opened from the translation-cache tree): each guest
// instruction next to the code the translator emitted for it in the translation cache, rewritten ones
// highlighted (inline sequence or callout into the VMM) with the reason. Static HTML (no script) under the
// strict CSP; every string from the session is escaped.
import * as vscode from 'vscode';
import type { TranslationInfo } from '../../emulator/vmm/inspection';
import { escapeHtml, webviewOptions, webviewPage } from './webviewHtml';

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** The page body for a translation (exported for the tests: they check the rewrites are marked). */
export function translationBody(t: TranslationInfo): string {
  const rows = t.instructions.map((i) => {
    const cls = i.rewrite === 'ident' ? 'ident' : `rewrite ${i.rewrite}`;
    const badge = i.rewrite === 'ident' ? '<span class="badge ident">IDENT</span>' : `<span class="badge ${i.rewrite}">${i.rewrite.toUpperCase()}</span>`;
    return `<tr class="${cls}">
<td class="addr">${hex(i.guestAddress)}</td>
<td class="code">${escapeHtml(i.original)}</td>
<td class="code">${i.translated.map((line) => escapeHtml(line)).join('<br>')}</td>
<td>${badge}${i.why === '' ? '' : ` <span class="why">${escapeHtml(i.why)}</span>`}</td>
</tr>`;
  });
  const chained = t.chainedTo.map((c, k) => `exit ${k}: ${c === undefined ? 'not chained' : `→ #${c}`}`).join(', ');
  return `<h1>Translation #${t.id}</h1>
<p class="summary">Guest ${hex(t.guestStart)}–${hex(t.guestEnd)} → translation cache ${hex(t.tcStart)}–${hex(t.tcEnd)} ·
${t.hits} hits · ${escapeHtml(chained || 'no direct exits')}${t.invalidated !== undefined ? ` · <strong>invalidated: ${escapeHtml(t.invalidated)}</strong>` : ''}</p>
<table class="side-by-side">
<thead><tr><th>guest address</th><th>original guest code</th><th>translated code (in the TC)</th><th>rewrite</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

/** Opens (or reuses) the translation page. */
export class TranslationPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {}

  get webviewPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  show(translation: TranslationInfo): vscode.WebviewPanel {
    if (this.panel === undefined) {
      this.panel = vscode.window.createWebviewPanel('hyperstep.translation', 'Translation', vscode.ViewColumn.Beside, webviewOptions(this.extensionUri, false));
      this.panel.onDidDispose(() => (this.panel = undefined));
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside);
    }
    this.panel.title = `Translation #${translation.id}`;
    this.panel.webview.html = webviewPage(this.panel.webview, this.extensionUri, { title: `Translation #${translation.id}`, body: translationBody(translation) });
    return this.panel;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
