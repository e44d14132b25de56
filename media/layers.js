// The layers diagram: the running configuration's layers as stacked boxes (guest user at the top, devices at
// the bottom, type 1 / type 2 and monolithic / microkernel / hosted from the adapter), the current stack of
// layers lit up (the running layer filled), and the path of the most recent I/O request drawn as numbered
// hops between the boxes. Data: LayersResponseBody (viewProtocol.ts).
'use strict';
(function () {
  const { svg, html, text, clear, onData, refresh } = window.hyperstep;

  onData((body) => {
    const header = clear('header');
    html('h1', {}, header, `${body.hypervisorType === 'none' ? 'Bare metal' : `Hypervisor ${body.hypervisorType}`} — ${body.technique} · ${body.architecture}`);
    html('p', { class: 'summary' }, header, body.description);
    html('button', {}, header, 'Refresh').addEventListener('click', refresh);

    const section = clear('diagram');
    const boxW = 300;
    const boxH = 46;
    const gap = 18;
    const left = 40;
    const w = left + boxW + 260;
    const h = body.layers.length * (boxH + gap) + 10;
    const root = svg('svg', { width: w, height: h, role: 'img', 'aria-label': 'layers of the configuration' }, section);
    const defs = svg('defs', {}, root);
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'io-arrow-head' }, marker);
    const yOf = new Map();
    const running = body.activePath[0];
    body.layers.forEach((l, i) => {
      const y = i * (boxH + gap) + 4;
      yOf.set(l.layer, y + boxH / 2);
      const active = body.activePath.includes(l.layer);
      const box = svg('rect', { x: left, y, width: boxW, height: boxH, rx: 6, class: `layer-box${active ? ' active' : ''}${l.layer === running ? ' running' : ''}`, 'data-layer': l.layer }, root);
      svg('title', {}, box).textContent = active ? `${l.title}: in the current stack of layers${l.layer === running ? ' (running)' : ''}` : l.title;
      text(left + 12, y + 20, l.title, { 'font-weight': '600' }, root);
      text(left + 12, y + 36, l.ring === null ? 'ring depends' : `ring ${l.ring}`, { class: 'muted' }, root);
      if (l.layer === running) text(left + boxW - 12, y + 20, '● running', { 'text-anchor': 'end' }, root);
    });
    // The most recent I/O request: hop k from layer A to layer B, drawn to the right of the boxes.
    const path = body.lastIoPath;
    for (let k = 0; k + 1 < path.length; k++) {
      const y1 = yOf.get(path[k]);
      const y2 = yOf.get(path[k + 1]);
      if (y1 === undefined || y2 === undefined) continue;
      const x = left + boxW + 14 + k * 20;
      svg('path', { d: `M ${left + boxW} ${y1} H ${x} V ${y2} H ${left + boxW + 2}`, class: 'io-arrow', 'marker-end': 'url(#arrow)' }, root);
      text(x + 3, (y1 + y2) / 2, String(k + 1), { class: 'io-step' }, root);
    }

    const legendSection = clear('legend');
    html('p', {}, legendSection, `Current stack of layers (running first): ${body.activePath.join(' ← ') || '—'}`);
    html('p', {}, legendSection, path.length > 0 ? `Last I/O request, hop by hop: ${path.join(' → ')}` : 'No I/O request has left the guest yet.');
  });
})();
