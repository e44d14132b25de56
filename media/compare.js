// The compare chart: the same guest run headless under every technique (and architecture), side by side —
// stacked bars of cycles per layer, grouped bars of transitions by kind, and a table with how each run ended
// and its serial output (equivalence at a glance). Data: CompareResponseBody (viewProtocol.ts). Plain SVG.
'use strict';
(function () {
  const { svg, html, text, fmt, cssClass, width, clear, onData, refresh } = window.hyperstep;
  const LABEL = 210;

  const rowName = (r) => (r.technique === 'native' ? 'native' : `${r.technique} · ${r.architecture}`);

  function legend(parent, names, prefix) {
    const div = html('div', { class: 'legend' }, parent);
    for (const n of names) {
      const item = html('span', { class: 'item' }, div);
      html('span', { class: `swatch ${cssClass(prefix, n)}` }, item);
      item.appendChild(document.createTextNode(n));
    }
  }

  function drawCycles(body) {
    const section = clear('cycles');
    html('h2', {}, section, 'Cycles per layer (cost model ' + body.costModel + ')');
    const layers = [...new Set(body.rows.flatMap((r) => r.cyclesPerLayer.map((l) => l.layer)))];
    legend(section, layers, 'l');
    const w = width();
    const rowH = 26;
    const top = Math.max(...body.rows.map((r) => r.totalCycles), 1);
    const scale = (w - LABEL - 120) / top;
    const root = svg('svg', { width: w, height: body.rows.length * rowH + 8, role: 'img', 'aria-label': 'cycles per layer by technique' }, section);
    body.rows.forEach((r, i) => {
      const y = i * rowH + 4;
      text(0, y + 15, rowName(r), {}, root);
      let x = LABEL;
      for (const l of r.cyclesPerLayer) {
        const bw = l.cycles * scale;
        const rect = svg('rect', { x: x.toFixed(1), y, width: Math.max(0.5, bw).toFixed(1), height: rowH - 8, class: `bar ${cssClass('l', l.layer)}` }, root);
        svg('title', {}, rect).textContent = `${rowName(r)} — ${l.layer}: ${fmt(l.cycles)} cycles`;
        x += bw;
      }
      text(x + 6, y + 15, `${fmt(r.totalCycles)}`, { class: 'muted' }, root);
    });
  }

  function drawCounts(body) {
    const section = clear('counts');
    html('h2', {}, section, 'Transitions by kind');
    const kinds = [...new Set(body.rows.flatMap((r) => Object.keys(r.countsByKind)))].filter((k) => k !== 'resume');
    if (kinds.length === 0) {
      html('p', { class: 'status' }, section, 'No run left the guest: nothing to count.');
      return;
    }
    legend(section, kinds, 'k');
    const w = width();
    const barH = 9;
    const groupH = kinds.length * barH + 10;
    const top = Math.max(...body.rows.flatMap((r) => kinds.map((k) => r.countsByKind[k] || 0)), 1);
    const scale = (w - LABEL - 80) / top;
    const root = svg('svg', { width: w, height: body.rows.length * groupH + 8, role: 'img', 'aria-label': 'transitions by kind per technique' }, section);
    body.rows.forEach((r, i) => {
      const y0 = i * groupH + 4;
      text(0, y0 + barH, rowName(r), {}, root);
      kinds.forEach((k, j) => {
        const n = r.countsByKind[k] || 0;
        const y = y0 + j * barH;
        const rect = svg('rect', { x: LABEL, y, width: Math.max(n > 0 ? 1 : 0, n * scale).toFixed(1), height: barH - 2, class: `bar ${cssClass('k', k)}` }, root);
        svg('title', {}, rect).textContent = `${rowName(r)} — ${k}: ${fmt(n)}`;
        if (n > 0) text(LABEL + n * scale + 4, y + barH - 2, fmt(n), { class: 'muted' }, root);
      });
    });
  }

  function drawTable(body) {
    const section = clear('table');
    html('h2', {}, section, 'Runs');
    const table = html('table', {}, section);
    const head = html('tr', {}, html('thead', {}, table));
    for (const c of ['technique', 'architecture', 'outcome', 'guest instructions', 'cycles', 'cycles / instruction', 'serial output (last line)']) {
      html('th', /instructions|cycles/.test(c) ? { class: 'num' } : {}, head, c);
    }
    const tbody = html('tbody', {}, table);
    for (const r of body.rows) {
      const row = html('tr', { 'data-technique': r.technique }, tbody);
      html('td', {}, row, r.technique);
      html('td', {}, row, r.technique === 'native' ? '—' : r.architecture);
      html('td', {}, row, r.outcome);
      html('td', { class: 'num' }, row, fmt(r.guestInstructions));
      html('td', { class: 'num' }, row, fmt(r.totalCycles));
      html('td', { class: 'num' }, row, r.guestInstructions > 0 ? (r.totalCycles / r.guestInstructions).toFixed(2) : '—');
      const lines = r.serialOutput.trim().split('\n');
      const cell = html('td', { class: 'code' }, row, lines[lines.length - 1] || '');
      cell.title = r.serialOutput;
    }
  }

  onData((body) => {
    const header = clear('header');
    html('h1', {}, header, `Compare techniques — ${body.program.split('/').pop()}`);
    html('p', { class: 'summary' }, header, `${body.rows.length} headless runs of the same guest image, each on a fresh machine; cost model ${body.costModel}.`);
    html('button', {}, header, 'Run again').addEventListener('click', refresh);
    drawCycles(body);
    drawCounts(body);
    drawTable(body);
  });
})();
