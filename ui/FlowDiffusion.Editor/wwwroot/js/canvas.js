// Canvas gestures: node drag, pan, zoom, box select and link dragging run here with pointer capture;
// .NET hears only finished actions (positions after a drag, a new link, the viewport after pan/zoom).
const HEADER = 30, ROW = 24, WIDTH = 240;

export function attach(root, dotnet) {
  const world = root.querySelector('.fd-world');
  const svg = root.querySelector('.fd-links');
  const view = { x: 0, y: 0, zoom: 1 };
  readViewport();
  let gesture = null;
  let wheelTimer = 0;

  function readViewport() {
    view.x = parseFloat(world.dataset.x || '0');
    view.y = parseFloat(world.dataset.y || '0');
    view.zoom = parseFloat(world.dataset.zoom || '1');
  }
  function applyViewport() {
    world.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    drawMinimap();
  }
  function toCanvas(clientX, clientY) {
    const r = root.getBoundingClientRect();
    return { x: (clientX - r.left - view.x) / view.zoom, y: (clientY - r.top - view.y) / view.zoom };
  }
  function nodePos(el) { return { x: parseFloat(el.style.left), y: parseFloat(el.style.top) }; }
  // A node's width as .NET set it (a collapsed node is as narrow as its title: NodeLayout.CollapsedWidth).
  function nodeWidth(el) { return parseFloat(el.style.width) || WIDTH; }
  // A collapsed node's links meet the middle of its title bar, on its narrowed right edge (NodeLayout says the same).
  function portPoint(nodeEl, dir, index) {
    const p = nodePos(nodeEl);
    const y = nodeEl.classList.contains('fd-collapsed') ? p.y + HEADER / 2 : p.y + HEADER + (index + 0.5) * ROW;
    return { x: dir === 'out' ? p.x + nodeWidth(nodeEl) : p.x, y };
  }
  function rerouteEl(id) { return world.querySelector(`.fd-reroute[data-id="${CSS.escape(id)}"]`); }
  function path(a, b) {
    const bend = Math.max(40, Math.abs(b.x - a.x) / 2);
    return `M ${a.x} ${a.y} C ${a.x + bend} ${a.y}, ${b.x - bend} ${b.y}, ${b.x} ${b.y}`;
  }
  function nodeEl(id) { return world.querySelector(`.fd-node[data-id="${CSS.escape(id)}"]`); }
  // Redraws the stretches of links that touch the moved nodes or reroutes: a link is drawn source → reroutes → input.
  function redrawLinks(ids) {
    for (const link of svg.querySelectorAll('path.fd-link, path.fd-link-hit')) {
      const route = (link.dataset.route || '').split(' ').filter(r => r);
      const seg = +(link.dataset.segment || 0);
      const startId = seg === 0 ? link.dataset.from : route[seg - 1];
      const endId = seg === route.length ? link.dataset.to : route[seg];
      if (!ids.has(startId) && !ids.has(endId)) continue;
      const a = seg === 0 ? nodeEl(startId) : rerouteEl(startId), b = seg === route.length ? nodeEl(endId) : rerouteEl(endId);
      if (!a || !b) continue;
      const from = seg === 0 ? portPoint(a, 'out', +link.dataset.outIndex) : nodePos(a);
      const to = seg === route.length ? portPoint(b, 'in', +link.dataset.inIndex) : nodePos(b);
      link.setAttribute('d', path(from, to));
    }
  }
  const interactive = t => t.closest('input, textarea, select, button, a, label, .fd-widget');

  function onPointerDown(e) {
    // Menus and the canvas's own buttons (the minimap toggle) take their clicks; no pan or selection starts there.
    if (e.target.closest('.fd-menu, .fd-canvas-control')) return;
    if (e.button === 0 && e.target.closest('.fd-minimap')) {
      gesture = { kind: 'minimap' };
      minimapPan(e);
      root.setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    if (e.button === 0 && e.target.closest('.fd-reroute')) {
      const el = e.target.closest('.fd-reroute');
      gesture = { kind: 'reroute', el, id: el.dataset.id, start: nodePos(el), sx: e.clientX, sy: e.clientY, moved: false };
      root.setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    if (e.button === 0 && e.target.closest('.fd-group-resize')) {
      const el = e.target.closest('.fd-group');
      gesture = { kind: 'resize', el, index: +el.dataset.index, w: el.offsetWidth, h: el.offsetHeight, sx: e.clientX, sy: e.clientY, moved: false };
      root.setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    if (e.button === 0 && e.target.closest('.fd-group-title')) {
      gesture = startGroupDrag(e, e.target.closest('.fd-group'));
      root.setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    const link = e.button === 0 && e.target.closest('path.fd-link-hit');
    if (link) {
      e.preventDefault();
      dotnet.invokeMethodAsync('LinkClicked', link.dataset.to, link.dataset.inPort);
      return;
    }
    if (e.button === 0 && e.target.closest('.fd-port.fd-in.fd-connected')) {
      // Dragging from a connected input picks its link up: drop it on another input to move it, on empty canvas to remove it.
      const input = e.target.closest('.fd-port');
      const nodeId = input.closest('.fd-node').dataset.id;
      const path = [...svg.querySelectorAll('path.fd-link')].find(p => p.dataset.to === nodeId && p.dataset.inPort === input.dataset.port);
      const source = path && world.querySelector(`.fd-node[data-id="${CSS.escape(path.dataset.from)}"] .fd-port.fd-out[data-port="${CSS.escape(path.dataset.outPort)}"]`);
      if (source) {
        gesture = startLink(e, source);
        gesture.detach = { node: nodeId, port: input.dataset.port, path };
        path.style.visibility = 'hidden';
        root.setPointerCapture(e.pointerId);
        e.preventDefault();
        return;
      }
    }
    if (e.button === 1 || (e.button === 0 && !e.target.closest('.fd-node, .fd-overlay'))) {
      if (e.target.closest('.fd-overlay')) return;
      const box = e.button === 0 && (e.ctrlKey || e.shiftKey || e.metaKey);
      gesture = box ? startBox(e) : { kind: 'pan', sx: e.clientX, sy: e.clientY, vx: view.x, vy: view.y, moved: false };
    } else if (e.button === 0 && e.target.closest('.fd-port')) {
      gesture = startLink(e, e.target.closest('.fd-port'));
    } else if (e.button === 0 && e.target.closest('.fd-node') && !interactive(e.target)) {
      gesture = startDrag(e, e.target.closest('.fd-node'));
    } else {
      return;
    }
    root.setPointerCapture(e.pointerId);
    e.preventDefault();
  }

  function startDrag(e, el) {
    const additive = e.shiftKey || e.ctrlKey || e.metaKey;
    if (!el.classList.contains('fd-selected') && !additive) {
      for (const s of world.querySelectorAll('.fd-node.fd-selected')) s.classList.remove('fd-selected');
    }
    el.classList.add('fd-selected');
    // Pinned nodes stay put: a drag moves only the unpinned ones of the selection.
    const nodes = [...world.querySelectorAll('.fd-node.fd-selected:not(.fd-pinned)')].map(n => ({ el: n, start: nodePos(n) }));
    return { kind: 'drag', id: el.dataset.id, additive, nodes, ids: new Set(nodes.map(n => n.el.dataset.id)), sx: e.clientX, sy: e.clientY, moved: false };
  }

  // A group drags the nodes whose title bar's centre lies in it (pinned ones excepted) and the reroutes in it; .NET
  // applies the same rule (GraphDocument.GroupMembers) to the offset it is sent.
  function startGroupDrag(e, el) {
    const box = { x: parseFloat(el.style.left), y: parseFloat(el.style.top), w: parseFloat(el.style.width), h: parseFloat(el.style.height) };
    const inside = (x, y) => x >= box.x && y >= box.y && x <= box.x + box.w && y <= box.y + box.h;
    const nodes = [...world.querySelectorAll('.fd-node:not(.fd-pinned)')].filter(n => {
      const p = nodePos(n);
      return inside(p.x + nodeWidth(n) / 2, p.y + HEADER / 2);
    });
    const reroutes = [...world.querySelectorAll('.fd-reroute')].filter(r => { const p = nodePos(r); return inside(p.x, p.y); });
    const items = [el, ...nodes, ...reroutes].map(x => ({ el: x, start: nodePos(x) }));
    const ids = new Set([...nodes, ...reroutes].map(x => x.dataset.id));
    return { kind: 'group', index: +el.dataset.index, items, ids, sx: e.clientX, sy: e.clientY, dx: 0, dy: 0, moved: false };
  }

  function startBox(e) {
    const rect = document.createElement('div');
    rect.className = 'fd-box';
    root.appendChild(rect);
    const r = root.getBoundingClientRect();
    return { kind: 'box', rect, ox: e.clientX - r.left, oy: e.clientY - r.top, start: toCanvas(e.clientX, e.clientY) };
  }

  function startLink(e, port) {
    const node = port.closest('.fd-node');
    const dir = port.dataset.dir;
    const type = port.dataset.type;
    const accepts = (port.dataset.accepts || '').split(' ');
    const from = portPoint(node, dir, +port.dataset.index);
    for (const p of world.querySelectorAll('.fd-port')) {
      const ok = p.dataset.dir !== dir && p.closest('.fd-node') !== node &&
        (dir === 'out' ? (p.dataset.accepts || '').split(' ').includes(type) : accepts.includes(p.dataset.type));
      p.classList.toggle('fd-dim', !ok);
      p.classList.toggle('fd-ok', ok);
    }
    root.classList.add('fd-linking');
    const temp = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    temp.setAttribute('class', 'fd-link fd-link-drag');
    temp.style.stroke = port.dataset.color || '#ccc';
    svg.appendChild(temp);
    return { kind: 'link', port, node: node.dataset.id, name: port.dataset.port, dir, from, temp };
  }

  function onPointerMove(e) {
    if (!gesture) return;
    if (gesture.kind === 'pan') {
      view.x = gesture.vx + e.clientX - gesture.sx;
      view.y = gesture.vy + e.clientY - gesture.sy;
      gesture.moved ||= Math.abs(e.clientX - gesture.sx) + Math.abs(e.clientY - gesture.sy) > 2;
      applyViewport();
    } else if (gesture.kind === 'drag') {
      const dx = (e.clientX - gesture.sx) / view.zoom, dy = (e.clientY - gesture.sy) / view.zoom;
      gesture.moved ||= Math.abs(dx) + Math.abs(dy) > 2;
      for (const n of gesture.nodes) {
        n.el.style.left = `${Math.round(n.start.x + dx)}px`;
        n.el.style.top = `${Math.round(n.start.y + dy)}px`;
      }
      redrawLinks(gesture.ids);
      drawMinimap();
    } else if (gesture.kind === 'group' || gesture.kind === 'reroute') {
      const dx = Math.round((e.clientX - gesture.sx) / view.zoom), dy = Math.round((e.clientY - gesture.sy) / view.zoom);
      gesture.moved ||= Math.abs(dx) + Math.abs(dy) > 2;
      gesture.dx = dx; gesture.dy = dy;
      const items = gesture.kind === 'group' ? gesture.items : [{ el: gesture.el, start: gesture.start }];
      for (const n of items) {
        n.el.style.left = `${n.start.x + dx}px`;
        n.el.style.top = `${n.start.y + dy}px`;
      }
      redrawLinks(gesture.kind === 'group' ? gesture.ids : new Set([gesture.id]));
      drawMinimap();
    } else if (gesture.kind === 'resize') {
      const dx = (e.clientX - gesture.sx) / view.zoom, dy = (e.clientY - gesture.sy) / view.zoom;
      gesture.moved ||= Math.abs(dx) + Math.abs(dy) > 2;
      gesture.el.style.width = `${Math.max(80, Math.round(gesture.w + dx))}px`;
      gesture.el.style.height = `${Math.max(54, Math.round(gesture.h + dy))}px`;
    } else if (gesture.kind === 'minimap') {
      minimapPan(e);
    } else if (gesture.kind === 'link') {
      const at = toCanvas(e.clientX, e.clientY);
      gesture.temp.setAttribute('d', gesture.dir === 'out' ? path(gesture.from, at) : path(at, gesture.from));
    } else if (gesture.kind === 'box') {
      const r = root.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      Object.assign(gesture.rect.style, {
        left: `${Math.min(x, gesture.ox)}px`, top: `${Math.min(y, gesture.oy)}px`,
        width: `${Math.abs(x - gesture.ox)}px`, height: `${Math.abs(y - gesture.oy)}px`,
      });
    }
  }

  function onPointerUp(e) {
    if (!gesture) return;
    const g = gesture;
    gesture = null;
    if (root.hasPointerCapture(e.pointerId)) root.releasePointerCapture(e.pointerId);
    if (g.kind === 'minimap') {
      dotnet.invokeMethodAsync('ViewportChanged', view.x, view.y, view.zoom);
    } else if (g.kind === 'group') {
      if (g.moved) dotnet.invokeMethodAsync('GroupMoved', g.index, g.dx, g.dy);
    } else if (g.kind === 'reroute') {
      if (g.moved) dotnet.invokeMethodAsync('RerouteMoved', g.id, g.start.x + g.dx, g.start.y + g.dy);
    } else if (g.kind === 'resize') {
      if (g.moved) dotnet.invokeMethodAsync('GroupResized', g.index, parseFloat(g.el.style.width), parseFloat(g.el.style.height));
    } else if (g.kind === 'pan') {
      if (g.moved) dotnet.invokeMethodAsync('ViewportChanged', view.x, view.y, view.zoom);
      else if (e.button === 0) dotnet.invokeMethodAsync('CanvasClicked');
    } else if (g.kind === 'drag') {
      if (g.moved && g.nodes.length > 0) {
        const ids = g.nodes.map(n => n.el.dataset.id);
        dotnet.invokeMethodAsync('NodesMoved', ids, g.nodes.map(n => parseFloat(n.el.style.left)), g.nodes.map(n => parseFloat(n.el.style.top)));
      } else {
        dotnet.invokeMethodAsync('NodeClicked', g.id, g.additive);
      }
    } else if (g.kind === 'link') {
      g.temp.remove();
      root.classList.remove('fd-linking');
      const target = document.elementFromPoint(e.clientX, e.clientY);
      const port = target && target.closest('.fd-port');
      const ok = port && port.classList.contains('fd-ok');
      for (const p of world.querySelectorAll('.fd-port')) p.classList.remove('fd-dim', 'fd-ok');
      if (g.detach) {
        g.detach.path.style.visibility = '';
        if (port && port.dataset.dir === 'in' && (ok || (port.closest('.fd-node').dataset.id === g.detach.node && port.dataset.port === g.detach.port))) {
          dotnet.invokeMethodAsync('LinkMoved', g.detach.node, g.detach.port, port.closest('.fd-node').dataset.id, port.dataset.port);
        } else if (!port) {
          dotnet.invokeMethodAsync('LinkMoved', g.detach.node, g.detach.port, null, null);
        }
        return;
      }
      if (port) {
        // A drop on an incompatible port is refused here; .NET checks the type again for any link it is sent.
        if (!ok) return;
        const other = port.closest('.fd-node').dataset.id;
        if (g.dir === 'out') dotnet.invokeMethodAsync('LinkDropped', g.node, g.name, other, port.dataset.port);
        else dotnet.invokeMethodAsync('LinkDropped', other, port.dataset.port, g.node, g.name);
      } else if (!target || !target.closest('.fd-node')) {
        const at = toCanvas(e.clientX, e.clientY);
        const r = root.getBoundingClientRect();
        dotnet.invokeMethodAsync('LinkReleased', g.node, g.name, g.dir === 'out', at.x, at.y, e.clientX - r.left, e.clientY - r.top, r.width, r.height);
      }
    } else if (g.kind === 'box') {
      g.rect.remove();
      const end = toCanvas(e.clientX, e.clientY);
      const x0 = Math.min(g.start.x, end.x), x1 = Math.max(g.start.x, end.x);
      const y0 = Math.min(g.start.y, end.y), y1 = Math.max(g.start.y, end.y);
      const ids = [...world.querySelectorAll('.fd-node:not(.fd-pinned)')].filter(n => {
        const p = nodePos(n);
        return p.x < x1 && p.x + nodeWidth(n) > x0 && p.y < y1 && p.y + n.offsetHeight > y0;
      }).map(n => n.dataset.id);
      dotnet.invokeMethodAsync('NodesSelected', ids);
    }
  }

  function onWheel(e) {
    if (e.target.closest('.fd-overlay, textarea, select')) return;
    e.preventDefault();
    const r = root.getBoundingClientRect();
    const cx = e.clientX - r.left, cy = e.clientY - r.top;
    const zoom = Math.min(3, Math.max(0.1, view.zoom * Math.exp(-e.deltaY * 0.0015)));
    view.x = cx - (cx - view.x) * zoom / view.zoom;
    view.y = cy - (cy - view.y) * zoom / view.zoom;
    view.zoom = zoom;
    applyViewport();
    clearTimeout(wheelTimer);
    wheelTimer = setTimeout(() => dotnet.invokeMethodAsync('ViewportChanged', view.x, view.y, view.zoom), 250);
  }

  // Over a node (or a menu or the search pop-up) a double click is theirs; only empty canvas opens the search.
  function onEmptyCanvas(e) {
    const hit = document.elementFromPoint(e.clientX, e.clientY);
    return !e.target.closest('.fd-node, .fd-overlay, .fd-menu, .fd-canvas-control') && !(hit && hit.closest('.fd-node, .fd-overlay, .fd-menu, .fd-canvas-control'));
  }

  function onContextMenu(e) {
    if (e.target.closest('.fd-overlay, .fd-canvas-control, input, textarea, select')) return;
    e.preventDefault();
    const at = toCanvas(e.clientX, e.clientY);
    const r = root.getBoundingClientRect();
    const node = e.target.closest('.fd-node');
    const link = e.target.closest('path.fd-link-hit');
    const reroute = e.target.closest('.fd-reroute');
    const group = e.target.closest('.fd-group');
    const kind = node ? 'node' : reroute ? 'reroute' : link ? 'link' : group ? 'group' : 'canvas';
    // The extra detail: the stretch of the link clicked (for a reroute there), the reroute's id, the group's index.
    const extra = kind === 'link' ? link.dataset.segment : kind === 'reroute' ? reroute.dataset.id : kind === 'group' ? group.dataset.index : null;
    dotnet.invokeMethodAsync('ContextMenuOpened', kind, node ? node.dataset.id : link ? link.dataset.to : null, link ? link.dataset.inPort : null,
      at.x, at.y, e.clientX - r.left, e.clientY - r.top, r.width, r.height, extra);
  }

  function onDoubleClick(e) {
    const link = e.target.closest('path.fd-link-hit');
    if (link) {
      // A double click on a link puts a reroute point there.
      const at = toCanvas(e.clientX, e.clientY);
      dotnet.invokeMethodAsync('RerouteAdded', link.dataset.to, link.dataset.inPort, +link.dataset.segment, at.x, at.y);
      return;
    }
    if (e.target.closest('.fd-group-title')) {
      dotnet.invokeMethodAsync('GroupTitleDoubleClicked', +e.target.closest('.fd-group').dataset.index);
      return;
    }
    if (!onEmptyCanvas(e)) return;
    const at = toCanvas(e.clientX, e.clientY);
    const r = root.getBoundingClientRect();
    dotnet.invokeMethodAsync('CanvasDoubleClicked', at.x, at.y, e.clientX - r.left, e.clientY - r.top, r.width, r.height);
  }

  function onKeyDown(e) {
    const mod = e.ctrlKey || e.metaKey;
    const typing = e.target.closest && e.target.closest('input, textarea, select');
    let name = null;
    // e.code is the physical key, so the shortcuts sit in the same place on every keyboard layout.
    if (mod && e.code === 'Enter') name = 'run';
    else if (typing) return;
    else if (mod && e.code === 'KeyZ') name = e.shiftKey ? 'redo' : 'undo';
    else if (mod && e.code === 'KeyY') name = 'redo';
    else if (mod && e.code === 'KeyC') name = 'copy';
    else if (mod && e.code === 'KeyV') name = 'paste';
    else if (mod && e.code === 'KeyD') name = 'duplicate';
    else if (mod && e.code === 'KeyS') name = 'save';
    else if (mod && e.code === 'KeyA') name = 'select-all';
    else if (mod && e.code === 'KeyG') name = 'group';
    else if (!mod && (e.code === 'Delete' || e.code === 'Backspace')) name = 'delete';
    else if (!mod && e.code === 'Escape') name = 'escape';
    if (!name) return;
    e.preventDefault();
    // A field commits on change (blur); running from it must run what is typed, so it commits first.
    if (name === 'run' && typing) typing.dispatchEvent(new Event('change', { bubbles: true }));
    dotnet.invokeMethodAsync('Shortcut', name);
  }

  // Number widgets scrub: a horizontal drag on the number steps it within min/max (Shift: ten steps at a time),
  // changing only the input here; the release sends one change event, so .NET hears one edit per drag.
  const SCRUB_PX = 5;
  let scrub = null;
  function scrubStep(input) {
    const step = parseFloat(input.step), min = parseFloat(input.min), max = parseFloat(input.max);
    if (step > 0) return step;
    return isFinite(min) && isFinite(max) && max > min ? (max - min) / 200 : 0.1;
  }
  function onScrubDown(e) {
    const input = e.button === 0 && e.target.closest && e.target.closest('.fd-number input[type=number]');
    if (!input || input.disabled) return;
    const start = parseFloat(input.value);
    scrub = { input, pointerId: e.pointerId, sx: e.clientX, start: isNaN(start) ? 0 : start, original: input.value, active: false };
  }
  function onScrubMove(e) {
    if (!scrub || e.pointerId !== scrub.pointerId) return;
    const dx = e.clientX - scrub.sx;
    if (!scrub.active) {
      if (Math.abs(dx) < 4) return;
      scrub.active = true;
      scrub.input.blur();
      scrub.input.setPointerCapture(e.pointerId);
      scrub.input.classList.add('fd-scrubbing');
      window.getSelection()?.removeAllRanges();
    }
    e.preventDefault();
    const step = scrubStep(scrub.input);
    const decimals = (String(step).split('.')[1] || '').length;
    let value = scrub.start + Math.round(dx / SCRUB_PX) * step * (e.shiftKey ? 10 : 1);
    const min = parseFloat(scrub.input.min), max = parseFloat(scrub.input.max);
    if (isFinite(min)) value = Math.max(min, value);
    if (isFinite(max)) value = Math.min(max, value);
    scrub.input.value = String(+value.toFixed(Math.min(decimals, 10)));
  }
  function onScrubUp(e) {
    if (!scrub || e.pointerId !== scrub.pointerId) return;
    const s = scrub;
    scrub = null;
    if (!s.active) return; // a plain click: the caret goes in as usual
    if (s.input.hasPointerCapture(e.pointerId)) s.input.releasePointerCapture(e.pointerId);
    s.input.classList.remove('fd-scrubbing');
    if (s.input.value !== s.original) s.input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  // The minimap: every node and group in miniature, and the view's rectangle; a click or drag there centres the view
  // on that point. It draws from the DOM, so it follows drags before .NET hears of them.
  const minimap = root.querySelector('.fd-minimap');
  let minimapScale = null;
  function worldBounds() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const boxes = [];
    for (const el of world.querySelectorAll('.fd-node, .fd-group')) {
      const x = parseFloat(el.style.left), y = parseFloat(el.style.top), w = el.offsetWidth, h = el.offsetHeight;
      boxes.push({ x, y, w, h, group: el.classList.contains('fd-group'), color: getComputedStyle(el).getPropertyValue(el.classList.contains('fd-group') ? '--group' : '--node-title').trim() });
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h);
    }
    return { x0, y0, x1, y1, boxes };
  }
  function drawMinimap() {
    // A hidden minimap (display: none) has no size: nothing to draw until it is shown again (sync redraws it).
    if (!minimap || minimap.clientWidth === 0) { minimapScale = null; return; }
    const ctx = minimap.getContext('2d');
    const W = minimap.width = minimap.clientWidth, H = minimap.height = minimap.clientHeight;
    ctx.clearRect(0, 0, W, H);
    const b = worldBounds();
    const r = root.getBoundingClientRect();
    // The view's rectangle in canvas units, so the minimap always shows where the view is.
    const vx0 = -view.x / view.zoom, vy0 = -view.y / view.zoom, vx1 = vx0 + r.width / view.zoom, vy1 = vy0 + r.height / view.zoom;
    const x0 = Math.min(b.x0, vx0) - 40, y0 = Math.min(b.y0, vy0) - 40, x1 = Math.max(b.x1, vx1) + 40, y1 = Math.max(b.y1, vy1) + 40;
    if (!isFinite(x0) || !isFinite(y0)) { minimapScale = null; return; }
    const scale = Math.min(W / (x1 - x0), H / (y1 - y0));
    const ox = (W - (x1 - x0) * scale) / 2, oy = (H - (y1 - y0) * scale) / 2;
    minimapScale = { x0, y0, scale, ox, oy };
    // The mapping is on the element too: a minimap pixel (px, py) is canvas point x0 + (px - ox) / scale, likewise y.
    Object.assign(minimap.dataset, { x0: x0.toFixed(2), y0: y0.toFixed(2), scale: scale.toFixed(6), ox: ox.toFixed(2), oy: oy.toFixed(2) });
    const mx = x => ox + (x - x0) * scale, my = y => oy + (y - y0) * scale;
    for (const box of b.boxes) {
      ctx.fillStyle = box.group ? (box.color || '#3f789e') + '55' : (box.color || '#5b6375');
      if (box.group) ctx.globalAlpha = .5;
      ctx.fillRect(mx(box.x), my(box.y), Math.max(2, box.w * scale), Math.max(2, box.h * scale));
      ctx.globalAlpha = 1;
    }
    ctx.strokeStyle = '#7aa2ff';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(mx(vx0), my(vy0), (vx1 - vx0) * scale, (vy1 - vy0) * scale);
  }
  function minimapPan(e) {
    if (!minimapScale) return;
    const m = minimap.getBoundingClientRect();
    const s = minimapScale;
    const cx = s.x0 + (e.clientX - m.left - s.ox) / s.scale, cy = s.y0 + (e.clientY - m.top - s.oy) / s.scale;
    const r = root.getBoundingClientRect();
    view.x = r.width / 2 - cx * view.zoom;
    view.y = r.height / 2 - cy * view.zoom;
    world.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
  }

  function onDragOver(e) { e.preventDefault(); }
  async function onDrop(e) {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const png = file.name.toLowerCase().endsWith('.png');
    const text = png ? pngText(bytes, 'flowdiffusion.workflow') : new TextDecoder().decode(bytes);
    // A PNG ComfyUI saved carries its graph in 'prompt' and 'workflow' chunks: .NET converts it from the bytes.
    if (png && text === null && (pngText(bytes, 'prompt') !== null || pngText(bytes, 'workflow') !== null)) {
      dotnet.invokeMethodAsync('ComfyPngDropped', file.name, bytes);
      return;
    }
    dotnet.invokeMethodAsync('WorkflowTextDropped', file.name, text, png ? pngText(bytes, 'flowdiffusion.inputs') : null);
  }

  root.addEventListener('pointerdown', onPointerDown);
  root.addEventListener('pointermove', onPointerMove);
  root.addEventListener('pointerup', onPointerUp);
  root.addEventListener('pointercancel', onPointerUp);
  root.addEventListener('wheel', onWheel, { passive: false });
  root.addEventListener('dblclick', onDoubleClick);
  root.addEventListener('contextmenu', onContextMenu);
  root.addEventListener('dragover', onDragOver);
  root.addEventListener('drop', onDrop);
  document.addEventListener('keydown', onKeyDown);
  document.addEventListener('pointerdown', onScrubDown);
  document.addEventListener('pointermove', onScrubMove);
  document.addEventListener('pointerup', onScrubUp);
  document.addEventListener('pointercancel', onScrubUp);
  root.dataset.ready = '1';
  drawMinimap();

  return {
    // .NET re-renders the world's data-* attributes; the script rereads them after a change it did not make.
    sync() { readViewport(); applyViewport(); },
    // The drawn height of each node (canvas units), for drawing a group around them.
    heights(ids) { return ids.map(id => { const el = nodeEl(id); return el ? el.offsetHeight : 0; }); },
    size() { const r = root.getBoundingClientRect(); return [r.width, r.height]; },
    dispose() {
      document.removeEventListener('keydown', onKeyDown);
      document.removeEventListener('pointerdown', onScrubDown);
      document.removeEventListener('pointermove', onScrubMove);
      document.removeEventListener('pointerup', onScrubUp);
      document.removeEventListener('pointercancel', onScrubUp);
    },
  };
}

// A PNG text chunk (iTXt or tEXt) by keyword, or null: FlowDiffusion writes "flowdiffusion.workflow" (the YAML)
// and "flowdiffusion.inputs" (the run's input values as JSON).
export function pngText(bytes, wanted) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'iTXt' || type === 'tEXt') {
      const zero = data.indexOf(0);
      const keyword = new TextDecoder('latin1').decode(data.subarray(0, zero));
      if (keyword === wanted) {
        if (type === 'tEXt') return new TextDecoder('latin1').decode(data.subarray(zero + 1));
        if (data[zero + 1] !== 0) return null; // compressed iTXt: not written by FlowDiffusion
        let p = zero + 3;
        p = data.indexOf(0, p) + 1; // language tag
        p = data.indexOf(0, p) + 1; // translated keyword
        return new TextDecoder().decode(data.subarray(p));
      }
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return null;
}

export function downloadText(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function autosave(key, text) { try { localStorage.setItem(key, text); } catch { } }
export function autoload(key) { try { return localStorage.getItem(key); } catch { return null; } }
