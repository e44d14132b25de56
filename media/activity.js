// The VMM activity view: a timeline of transitions (one lane per kind, x = virtual time in cycles), the
// histogram of traps/exits by reason, cycles per layer, and the newest events as a table. Clicking an event
// (dot or row) opens the guest line that caused it. Data: ActivityResponseBody (viewProtocol.ts).
'use strict';
(function () {
  const { svg, html, text, fmt, cssClass, width, clear, onData, open, refresh } = window.hyperstep;
  const LABEL = 150;

  function drawHeader(body) {
    const header = clear('header');
    html('h1', {}, header, `VMM activity — ${body.technique} · ${body.architecture}`);
    const kinds = new Set(body.events.map((e) => e.kind)).size;
    html('p', { class: 'summary' }, header,
      `${fmt(body.events.length)} transitions shown (${kinds} kinds) · ${fmt(body.guestInstructions)} guest instructions · ${fmt(body.totalCycles)} cycles in total`);
    const button = html('button', {}, header, 'Refresh');
    button.addEventListener('click', refresh);
  }

  function drawTimeline(body) {
    const section = clear('timeline');
    html('h2', {}, section, 'Timeline (virtual time, cycles)');
    const events = body.events;
    if (events.length === 0) {
      html('p', { class: 'status' }, section, 'No transitions yet: under this technique nothing has left the guest so far.');
      return;
    }
    const kinds = [...new Set(events.map((e) => e.kind))];
    const w = width();
    const lane = 22;
    const h = kinds.length * lane + 30;
    const min = events[0].cycle;
    const max = Math.max(events[events.length - 1].cycle, min + 1);
    const x = (c) => LABEL + ((c - min) / (max - min)) * (w - LABEL - 10);
    const root = svg('svg', { width: w, height: h, role: 'img', 'aria-label': 'timeline of transitions' }, section);
    kinds.forEach((kind, i) => {
      const y = i * lane + lane / 2;
      text(0, y + 4, kind, {}, root);
      svg('line', { x1: LABEL, x2: w - 10, y1: y, y2: y, class: 'grid' }, root);
    });
    svg('line', { x1: LABEL, x2: w - 10, y1: h - 24, y2: h - 24, class: 'axis' }, root);
    text(LABEL, h - 8, fmt(min), { class: 'muted' }, root);
    text(w - 10, h - 8, fmt(max), { class: 'muted', 'text-anchor': 'end' }, root);
    for (const e of events) {
      const dot = svg('circle', { cx: x(e.cycle).toFixed(1), cy: kinds.indexOf(e.kind) * lane + lane / 2, r: 4, class: `event ${cssClass('k', e.kind)}`, 'data-seq': e.seq }, root);
      const title = svg('title', {}, dot);
      title.textContent = `#${e.seq} ${e.kind} ${e.from} → ${e.to}: ${e.reason}${e.instruction ? ` [${e.instruction}]` : ''} (${fmt(e.cycles)} cycles)${e.location ? ` — ${e.location.path.split('/').pop()}:${e.location.line}` : ''}`;
      dot.addEventListener('click', () => open(e.location));
    }
  }

  function bars(sectionId, title, rows, labelOf, valueOf, classOf, suffixOf) {
    const section = clear(sectionId);
    html('h2', {}, section, title);
    if (rows.length === 0) {
      html('p', { class: 'status' }, section, 'Nothing yet.');
      return;
    }
    const w = Math.max(300, section.clientWidth || width() / 2);
    const rowH = 20;
    const labelW = Math.min(260, w * 0.5);
    const top = Math.max(...rows.map(valueOf), 1);
    const root = svg('svg', { width: w, height: rows.length * rowH + 4, role: 'img', 'aria-label': title }, section);
    rows.forEach((r, i) => {
      const y = i * rowH;
      const label = labelOf(r);
      text(0, y + 14, label.length > 42 ? `${label.slice(0, 41)}…` : label, {}, root).appendChild(svg('title', {})).textContent = label;
      const bw = Math.max(1, (valueOf(r) / top) * (w - labelW - 90));
      svg('rect', { x: labelW, y: y + 3, width: bw.toFixed(1), height: rowH - 6, class: `bar ${classOf(r)}` }, root);
      text(labelW + bw + 6, y + 14, suffixOf(r), { class: 'muted' }, root);
    });
  }

  function drawEvents(body) {
    const section = clear('events');
    html('h2', {}, section, 'Newest transitions (click to open the guest line)');
    const table = html('table', {}, section);
    const head = html('tr', {}, html('thead', {}, table));
    for (const c of ['#', 'cycle', 'kind', 'from → to', 'reason', 'guest instruction', 'cycles']) html('th', c === 'cycle' || c === 'cycles' || c === '#' ? { class: 'num' } : {}, head, c);
    const tbody = html('tbody', {}, table);
    for (const e of body.events.slice(-300).reverse()) {
      const row = html('tr', e.location ? { class: 'clickable', 'data-seq': e.seq } : { 'data-seq': e.seq }, tbody);
      html('td', { class: 'num' }, row, e.seq);
      html('td', { class: 'num' }, row, fmt(e.cycle));
      const kind = html('td', {}, row);
      html('span', { class: `swatch ${cssClass('k', e.kind)}` }, kind);
      kind.appendChild(document.createTextNode(e.kind));
      html('td', {}, row, `${e.from} → ${e.to}`);
      html('td', {}, row, e.reason);
      html('td', { class: 'code' }, row, e.instruction ? `${e.instruction}${e.location ? `  (${e.location.path.split('/').pop()}:${e.location.line})` : ''}` : '');
      html('td', { class: 'num' }, row, fmt(e.cycles));
      if (e.location) row.addEventListener('click', () => open(e.location));
    }
  }

  onData((body) => {
    const total = body.totalCycles || 1;
    drawHeader(body);
    drawTimeline(body);
    // Why the guest left (traps, exits, hypercalls, injections, world switches…); resumes and I/O hops are the
    // way back and the device path, visible on the timeline.
    bars('histogram', 'Traps, exits and hypercalls by reason', body.histogram.filter((r) => r.kind !== 'resume' && r.kind !== 'io-hop').slice(0, 15),
      (r) => r.reason, (r) => r.count, (r) => cssClass('k', r.kind), (r) => fmt(r.count));
    bars('layers', 'Cycles per layer', body.cyclesPerLayer,
      (r) => r.layer, (r) => r.cycles, (r) => cssClass('l', r.layer), (r) => `${fmt(r.cycles)} (${((100 * r.cycles) / total).toFixed(1)} %)`);
    drawEvents(body);
  });
})();
