// The HTML shell every HyperStep webview uses: a strict Content-Security-Policy (nothing remote, scripts only
// with this page's nonce, styles and scripts only from the extension's media folder), the shared stylesheet
// with the theme's CSS variables, and one script. Works in the web extension host too (URIs come from
// `webview.asWebviewUri`, the nonce from Web Crypto, which Node 20 and browsers both have).
import * as vscode from 'vscode';

/** 128 random bits as hex, for the CSP nonce. */
export function makeNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Options for webviews that load a script from media/ (only that folder is readable by the page). */
export function webviewOptions(extensionUri: vscode.Uri, scripts: boolean): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: scripts, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')], retainContextWhenHidden: false };
}

/** The Content-Security-Policy of a page: nothing by default, our stylesheet, our nonce'd script. */
export function contentSecurityPolicy(webview: vscode.Webview, nonce: string | undefined): string {
  const script = nonce === undefined ? '' : ` script-src 'nonce-${nonce}';`;
  return `default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; font-src ${webview.cspSource};${script}`;
}

/**
 * A page: title, body markup, and optionally media/common.js + media/<script>.js (with the nonce). The page's own data comes
 * later through postMessage, so the HTML never embeds session data unescaped.
 */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, options: { title: string; body: string; script?: string }): string {
  const nonce = options.script === undefined ? undefined : makeNonce();
  const media = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', name)).toString();
  // media/common.js (element builders, the message loop) first, then the view's own script.
  const script = options.script === undefined ? '' : ['common', options.script].map((name) => `<script nonce="${nonce}" src="${media(`${name}.js`)}"></script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('views.css')}">
<title>${escapeHtml(options.title)}</title>
</head>
<body>
${options.body}
${script}
</body>
</html>`;
}
