// Shared helpers of the HyperStep webview scripts (loaded before each view's script): SVG/HTML element
// builders that only ever set text through textContent (session strings are never parsed as HTML), number
// formatting, and the message loop with the extension (ready / refresh / open a guest line).
'use strict';
(function () {
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs, parent) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (parent) parent.appendChild(el);
    return el;
  }

  function html(tag, attrs, parent, text) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = String(text);
    if (parent) parent.appendChild(el);
    return el;
  }

  function text(x, y, content, attrs, parent) {
    const el = svg('text', Object.assign({ x, y }, attrs || {}), parent);
    el.textContent = String(content);
    return el;
  }

  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const cssClass = (prefix, name) => `${prefix}-${String(name).replace(/[^a-z0-9-]/gi, '-')}`;
  const width = () => Math.max(360, document.body.clientWidth - 32);

  function clear(id) {
    const el = document.getElementById(id);
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  /** Runs `draw(body)` on every data message; shows busy/error/ended states in the header. */
  function onData(draw) {
    let last;
    window.addEventListener('message', (event) => {
      const m = event.data;
      const header = document.getElementById('header');
      if (m.type === 'data') {
        last = m.body;
        draw(m.body);
        document.body.dataset.state = 'ready';
      } else if (m.type === 'busy' && header && last === undefined) {
        html('p', { class: 'status' }, clear('header'), 'Loading from the debug session…');
      } else if (m.type === 'error' && header) {
        html('p', { class: 'error' }, header, `The debug session did not answer: ${m.message}`);
      } else if (m.type === 'ended' && header) {
        html('p', { class: 'status' }, header, 'The debug session has ended: this is its last picture.');
      }
    });
    window.addEventListener('resize', () => last !== undefined && draw(last));
    vscode.postMessage({ type: 'ready' });
  }

  const open = (location) => location && vscode.postMessage({ type: 'open', path: location.path, line: location.line });
  const refresh = () => vscode.postMessage({ type: 'refresh' });

  window.hyperstep = { svg, html, text, fmt, cssClass, width, clear, onData, open, refresh };
})();
