/* strata's report page: draws the JSON island #data. Every string from the image reaches the
   page through textContent (text nodes), never as markup; nothing is loaded from anywhere. */
(function () {
  'use strict';

  // Errors are written into the page, where a reader (and the tests' dumped DOM) sees them.
  var errorBox = document.getElementById('errors');
  function fail(message) {
    errorBox.hidden = false;
    var line = document.createElement('div');
    line.textContent = String(message);
    errorBox.appendChild(line);
    document.documentElement.setAttribute('data-errors', String(errorBox.childNodes.length));
  }
  window.addEventListener('error', function (e) {
    fail('error: ' + e.message + (e.lineno ? ' (line ' + e.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (e) {
    fail('unhandled rejection: ' + e.reason);
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    fail('blocked by the page policy: ' + e.violatedDirective);
  });

  var data = JSON.parse(document.getElementById('data').textContent);
  var root = document.getElementById('report');
  var tip = document.getElementById('tip');

  // ---------------------------------------------------------------------------------------
  // Helpers.

  /* An element: `cls` its class names, `kids` strings (text nodes) or nodes. */
  function el(tag, cls, kids) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (kids !== undefined && kids !== null) add(e, kids);
    return e;
  }
  function add(parent, kids) {
    if (!Array.isArray(kids)) kids = [kids];
    kids.forEach(function (k) {
      if (k === null || k === undefined || k === false) return;
      parent.appendChild(typeof k === 'object' ? k : document.createTextNode(String(k)));
    });
    return parent;
  }
  function section(id, title) {
    var s = el('section');
    s.id = id;
    s.setAttribute('aria-labelledby', id + '-title');
    var h = el('h2', null, title);
    h.id = id + '-title';
    s.appendChild(h);
    root.appendChild(s);
    return s;
  }
  function table(headers, numeric) {
    var t = el('table');
    var head = el('tr');
    headers.forEach(function (h, i) {
      var th = el('th', numeric && numeric[i] ? 'num' : null, h);
      th.setAttribute('scope', 'col');
      head.appendChild(th);
    });
    t.appendChild(el('thead', null, head));
    var body = el('tbody');
    t.appendChild(body);
    return { table: t, body: body };
  }
  /* A row reachable with the tab key. */
  function row(cells, label) {
    var tr = el('tr');
    tr.tabIndex = 0;
    if (label) tr.setAttribute('aria-label', label);
    cells.forEach(function (c) { tr.appendChild(c); });
    return tr;
  }
  function td(text, cls) { return el('td', cls, text); }

  /* Sizes as the text output writes them: decimal units, two decimals at most. */
  var UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  function size(n) {
    if (n < 1000) return n + ' B';
    var v = n, u = 0;
    while (v >= 1000 && u < UNITS.length - 1) { v /= 1000; u += 1; }
    return v.toFixed(2).replace(/\.?0+$/, '') + ' ' + UNITS[u];
  }
  function pct(ratio) { return (ratio * 100).toFixed(1) + '%'; }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

  function header(title, rows) {
    var h = el('header');
    h.appendChild(el('h1', null, title));
    if (rows && rows.length) {
      var dl = el('dl', 'identity');
      rows.forEach(function (r) {
        dl.appendChild(el('dt', null, r[0]));
        dl.appendChild(el('dd', null, r[1]));
      });
      h.appendChild(dl);
    }
    root.appendChild(h);
  }
  function warnings(list) {
    if (!list || !list.length) return;
    var s = section('warnings', 'Warnings');
    var ul = el('ul');
    list.forEach(function (w) { ul.appendChild(el('li', null, w)); });
    s.appendChild(ul);
  }
  function footer() {
    root.appendChild(el('footer', null, 'Made by strata ' + data.version +
      '. This file is self-contained: it loads nothing and sends nothing.'));
  }

  // Colours: distinct hues for layers and packages, a ramp for waste; lighter fills with dark
  // text in a light theme, darker fills with light text in a dark one.
  var darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function dark() { return !!(darkQuery && darkQuery.matches); }
  var HUES = [212, 28, 140, 280, 350, 48, 184, 96, 248, 8, 320, 164];
  function category(k) {
    if (k < 0) return dark() ? 'hsl(0, 0%, 24%)' : 'hsl(0, 0%, 86%)';
    var hue = HUES[k % HUES.length];
    var shade = Math.floor(k / HUES.length) % 3;
    return dark()
      ? 'hsl(' + hue + ', 42%, ' + (30 + shade * 7) + '%)'
      : 'hsl(' + hue + ', 62%, ' + (80 - shade * 9) + '%)';
  }
  /* Grey where nothing is wasted; yellow to red as the wasted share grows. */
  function ramp(ratio) {
    var r = Math.max(0, Math.min(1, ratio));
    if (r === 0) return dark() ? 'hsl(220, 6%, 26%)' : 'hsl(220, 8%, 88%)';
    var hue = 48 - 48 * r;
    return dark()
      ? 'hsl(' + hue + ', ' + (55 + 30 * r) + '%, ' + (30 + 8 * r) + '%)'
      : 'hsl(' + hue + ', ' + (80 + 10 * r) + '%, ' + (78 - 20 * r) + '%)';
  }
  function ink() { return dark() ? '#f0f3f6' : '#111418'; }

  // ---------------------------------------------------------------------------------------
  // The analysis.

  function analysis() {
    document.title = 'strata: ' + data.title;
    header(data.title, data.identity);

    var cards = el('div', 'cards');
    data.cards.forEach(function (c) {
      var card = el('div', 'card');
      card.appendChild(el('div', 'label', c.label));
      card.appendChild(el('div', 'value', c.value));
      card.appendChild(el('div', 'note', c.note));
      if (c.label === 'Efficiency') card.id = 'efficiency';
      cards.appendChild(card);
    });
    root.appendChild(cards);
    causes();
    treemap();
    layers();
    wasted();
    findings();
    packages();
    warnings(data.warnings);
    footer();
  }

  function causes() {
    var total = data.wasted_bytes;
    var p = el('div');
    p.appendChild(el('p', null, 'Wasted bytes by cause (' + size(total) + ' of ' +
      size(data.shipped_bytes) + ' shipped):'));
    var stack = el('div', 'stack');
    stack.setAttribute('role', 'img');
    var names = [];
    var classes = ['c-deleted', 'c-overwritten', 'c-metadata'];
    var legend = el('div', 'causes');
    data.causes.forEach(function (c, i) {
      names.push(c.name + ' ' + c.size);
      if (total > 0 && c.bytes > 0) {
        var seg = el('span', classes[i]);
        seg.style.width = (100 * c.bytes / total) + '%';
        stack.appendChild(seg);
      }
      legend.appendChild(el('span', null, [el('span', 'swatch ' + classes[i]), c.name + ': ' + c.size]));
    });
    stack.setAttribute('aria-label', 'wasted bytes: ' + names.join(', '));
    p.appendChild(stack);
    p.appendChild(legend);
    root.appendChild(p);
  }

  function layers() {
    var s = section('layers', 'Layers');
    var max = 1;
    data.layers.forEach(function (l) { max = Math.max(max, l.bytes); });
    var t = table(['#', 'Size', '', data.stored, 'Wastes', 'Hides', '+add ~mod -del', 'Made by, and digest'],
      [true, true, false, true, true, true, true, false]);
    data.layers.forEach(function (l) {
      var bar = el('div', 'bar right');
      var fill = el('span');
      fill.style.width = (100 * l.bytes / max) + '%';
      bar.appendChild(fill);
      var made = el('td', 'cmd');
      if (l.line) {
        made.appendChild(el('div', null, [el('code', null, l.line), l.stage ? el('span', 'muted', ' (stage ' + l.stage + ')') : null]));
      }
      if (l.command) made.appendChild(el('div', l.line ? 'muted' : null, el('code', null, l.command)));
      if (!l.line && !l.command) made.appendChild(el('span', 'muted', '(no history)'));
      if (l.base === true) made.appendChild(el('div', 'muted', 'from the base image'));
      if (l.digest) made.appendChild(el('div', 'digest', l.digest));
      if (l.diff_id && l.diff_id !== l.digest) made.appendChild(el('div', 'digest', 'diff_id ' + l.diff_id));
      var swatch = el('span', 'swatch');
      swatch.style.background = category(l.index);
      t.body.appendChild(row([
        el('td', 'num', [swatch, String(l.index)]),
        td(l.size, 'num'),
        el('td', null, bar),
        td(l.stored, 'num'),
        td(l.wasted, 'num'),
        td(l.hides, 'num'),
        td('+' + l.added + ' ~' + l.changed + ' -' + l.removed, 'num'),
        made
      ], 'layer ' + l.index + ', ' + l.size + ': ' + l.label));
    });
    s.appendChild(t.table);
    s.appendChild(el('p', 'muted', 'Wastes: bytes the layer ships that no final path reaches. ' +
      'Hides: lower-layer bytes it makes unreachable.'));
  }

  function wasted() {
    var s = section('wasted', 'Wasted paths');
    if (!data.paths.length) {
      s.appendChild(el('p', null, 'No path wastes bytes.'));
      return;
    }
    var shown = data.paths.length < data.paths_total
      ? 'The ' + data.paths.length + ' largest of ' + data.paths_total + ' paths.'
      : plural(data.paths_total, 'path', 'paths') + '.';
    s.appendChild(el('p', 'muted', shown));
    var t = table(['Wasted', 'Cause', 'Shipped by', 'Hidden by', 'Path'], [true, false, true, true, false]);
    data.paths.forEach(function (p) {
      t.body.appendChild(row([
        td(p.size, 'num'), td(p.cause), td(p.layers, 'num'), td(p.hidden_by, 'num'),
        el('td', 'cmd', el('code', null, p.path))
      ]));
    });
    s.appendChild(t.table);
  }

  function findings() {
    var s = section('findings', 'Findings');
    if (!data.findings.length) {
      s.appendChild(el('p', null, 'Nothing found.'));
      return;
    }
    if (data.findings.length < data.findings_total) {
      s.appendChild(el('p', 'muted', 'The first ' + data.findings.length + ' of ' + data.findings_total + '.'));
    }
    var list = el('div', 'findings');
    list.setAttribute('role', 'list');
    data.findings.forEach(function (f) {
      var item = el('div', 'finding');
      item.setAttribute('role', 'listitem');
      item.tabIndex = 0;
      item.appendChild(el('span', 'sev sev-' + f.severity, f.severity));
      item.appendChild(el('span', 'id', f.id));
      item.appendChild(el('span', 'num', f.size));
      item.appendChild(el('div', 'msg', f.message));
      list.appendChild(item);
    });
    s.appendChild(list);
  }

  function packages() {
    if (!data.packages_line) return;
    var s = section('packages', 'Packages');
    s.appendChild(el('p', null, data.packages_line));
    if (data.packages.length < data.packages_total) {
      s.appendChild(el('p', 'muted', 'The ' + data.packages.length + ' largest of ' + data.packages_total + '.'));
    }
    var t = table(['Visible', 'Wasted', 'Files', 'Layer', 'Package', 'Version', 'Manager'],
      [true, true, true, true, false, false, false]);
    data.packages.forEach(function (p) {
      t.body.appendChild(row([
        td(p.visible, 'num'), td(p.wasted, 'num'), td(String(p.files), 'num'),
        td(p.layer === null ? '-' : String(p.layer), 'num'),
        el('td', 'cmd', [p.name, p.build_time ? el('span', 'muted', ' (build-time)') : null]),
        td(p.version, 'cmd'), td(p.manager)
      ]));
    });
    s.appendChild(t.table);
  }

  // ---------------------------------------------------------------------------------------
  // The treemap.

  function treemap() {
    var s = section('treemap', 'Where the bytes are');
    var T = data.tree;
    if (!T) {
      s.appendChild(el('p', null, 'The filesystem was not given to this report.'));
      return;
    }
    var count = T.name.length;
    var kids = [];
    for (var i = 0; i < count; i += 1) kids.push([]);
    for (var j = 1; j < count; j += 1) kids[T.parent[j]].push(j);

    var layerOf = data.layers;
    var hasPackages = T.packages.length > 0;
    var state = { node: 0, colour: 'layer', drawn: 0 };

    // The page's address may ask for a colouring and a directory: #colour=package&path=/usr/lib
    var asked = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var at = kv.indexOf('=');
      if (at > 0) {
        try { asked[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1)); } catch (e) { /* not ours */ }
      }
    });
    if (asked.colour === 'waste' || (asked.colour === 'package' && hasPackages)) state.colour = asked.colour;

    function pathOf(i) {
      var parts = [];
      for (var n = i; n > 0; n = T.parent[n]) parts.push(T.name[n]);
      return '/' + parts.reverse().join('/');
    }
    function isDir(i) { return T.kind[i] === 'd'; }
    function opens(i) { return isDir(i) && kids[i].length > 0; }
    function layerText(k) {
      if (k < 0 || !layerOf[k]) return 'no layer';
      return 'layer ' + k + ': ' + layerOf[k].label;
    }
    function wasteRatio(i) {
      var total = T.bytes[i] + T.waste[i];
      return total > 0 ? T.waste[i] / total : 0;
    }
    function colour(i) {
      if (state.colour === 'waste') return ramp(wasteRatio(i));
      if (state.colour === 'package') return category(T.owner[i]);
      return category(T.layer[i]);
    }
    function kindText(i) {
      switch (T.kind[i]) {
        case 'd': return 'directory, ' + plural(T.files[i], 'file', 'files');
        case 'u': return 'directory, ' + plural(T.files[i], 'file', 'files') + ' (not broken down: the report keeps ' + T.listed + ' of ' + T.paths + ' paths)';
        case 'a': return 'folded, ' + plural(T.files[i], 'file', 'files');
        case 'l': return 'symlink';
        case 'o': return 'special file';
        default: return 'file';
      }
    }
    /* The facts about a node, as lines: [label, text]. */
    function facts(i) {
      var lines = [];
      lines.push(['', pathOf(i)]);
      lines.push(['', size(T.bytes[i]) + ', ' + kindText(i)]);
      var mostly = T.kind[i] === 'f' || T.kind[i] === 'l' || T.kind[i] === 'o' ? '' : 'mostly ';
      lines.push(['Layer', mostly + layerText(T.layer[i])]);
      var l = layerOf[T.layer[i]];
      if (l && l.line && l.command) lines.push(['Command', l.command]);
      if (hasPackages) lines.push(['Package', T.owner[i] >= 0 ? mostly + T.packages[T.owner[i]] : 'none']);
      if (T.waste[i] > 0) lines.push(['Wasted', size(T.waste[i]) + ' shipped here are in no final path (' + pct(wasteRatio(i)) + ')']);
      return lines;
    }
    function fill(box, i) {
      while (box.firstChild) box.removeChild(box.firstChild);
      facts(i).forEach(function (f, n) {
        var line = el('div', n === 0 ? 'path' : null);
        if (f[0]) line.appendChild(el('span', 'muted', f[0] + ': '));
        line.appendChild(document.createTextNode(f[1]));
        box.appendChild(line);
      });
    }

    var controls = el('div', 'controls');
    var fs = el('fieldset');
    fs.appendChild(el('legend', null, 'Colour by'));
    [['layer', 'Layer'], ['package', 'Package'], ['waste', 'Waste']].forEach(function (c) {
      var input = el('input');
      input.type = 'radio';
      input.name = 'colour';
      input.value = c[0];
      input.checked = state.colour === c[0];
      var label = el('label', null, [input, ' ' + c[1]]);
      if (c[0] === 'package' && !hasPackages) {
        input.disabled = true;
        label.className = 'disabled';
        label.title = 'No package database in this image';
      }
      input.addEventListener('change', function () {
        if (input.checked) { state.colour = c[0]; draw(); }
      });
      fs.appendChild(label);
    });
    controls.appendChild(fs);
    var up = el('button', null, 'Up');
    up.type = 'button';
    up.addEventListener('click', function () { goUp(); });
    controls.appendChild(up);
    var crumbs = el('nav', 'crumbs');
    crumbs.setAttribute('aria-label', 'Directory shown');
    controls.appendChild(crumbs);
    s.appendChild(controls);
    s.appendChild(el('p', 'muted', 'Each rectangle is a file or directory, sized by its bytes. ' +
      'Click a directory, or press Enter on it, to open it; Escape or Up goes back. Tab moves between ' +
      'the rectangles; hovering or focusing one shows its path, size, layer and command.'));

    var map = el('div', 'map');
    map.setAttribute('role', 'group');
    s.appendChild(map);
    var details = el('div', 'details');
    details.setAttribute('aria-live', 'polite');
    s.appendChild(details);
    var legend = el('div', 'legend');
    s.appendChild(legend);
    var summary = el('p', 'muted');
    s.appendChild(summary);

    function crumbsFor(i) {
      while (crumbs.firstChild) crumbs.removeChild(crumbs.firstChild);
      var chain = [];
      for (var n = i; ; n = T.parent[n]) { chain.push(n); if (n === 0) break; }
      chain.reverse().forEach(function (n, k) {
        if (k > 1) crumbs.appendChild(el('span', 'sep', '/'));
        var b = el('button', null, n === 0 ? '/' : T.name[n]);
        b.type = 'button';
        if (n === i) b.setAttribute('aria-current', 'true');
        b.addEventListener('click', function () { zoom(n, null); });
        crumbs.appendChild(b);
      });
    }

    function legendFor(shown) {
      while (legend.firstChild) legend.removeChild(legend.firstChild);
      if (state.colour === 'waste') {
        var none = el('span', 'swatch');
        none.style.background = ramp(0);
        legend.appendChild(el('span', null, [none, 'nothing wasted']));
        var r = el('span', 'ramp');
        r.style.background = 'linear-gradient(to right, ' + ramp(0.01) + ', ' + ramp(0.5) + ', ' + ramp(1) + ')';
        legend.appendChild(el('span', null, ['1% ', r, ' 100% of the bytes shipped at a path wasted']));
        return;
      }
      var keys = Object.keys(shown).map(Number).sort(function (a, b) { return shown[b] - shown[a] || a - b; });
      keys.slice(0, 24).forEach(function (k) {
        var sw = el('span', 'swatch');
        sw.style.background = category(k);
        var name = state.colour === 'package'
          ? (k >= 0 ? T.packages[k] : 'no package')
          : layerText(k);
        legend.appendChild(el('span', null, [sw, name]));
      });
      if (keys.length > 24) legend.appendChild(el('span', 'muted', (keys.length - 24) + ' more'));
    }

    function place(node, r) {
      var left = Math.round(r.x), top = Math.round(r.y);
      node.style.left = left + 'px';
      node.style.top = top + 'px';
      node.style.width = Math.max(0, Math.round(r.x + r.w) - left) + 'px';
      node.style.height = Math.max(0, Math.round(r.y + r.h) - top) + 'px';
    }

    var MAX_CELLS = 1500, MAX_DEPTH = 3, HEAD = 17;

    function cell(i, r, depth, shown) {
      var c = el('div', 'cell' + (isDir(i) ? ' dir' : ''));
      c.setAttribute('data-node', String(i));
      c.setAttribute('role', 'button');
      c.tabIndex = depth === 0 ? 0 : -1;
      c.setAttribute('aria-label', (i === 0 ? '/' : T.name[i]) + ', ' + size(T.bytes[i]) + ', ' + kindText(i) +
        (opens(i) ? '; Enter opens it' : ''));
      c.style.background = colour(i);
      c.style.color = ink();
      place(c, r);
      if (r.w > 34 && r.h > 15) {
        c.appendChild(el('span', 'name', T.name[i]));
        if (r.h > 30 && !(opens(i) && depth < MAX_DEPTH && r.w > 60 && r.h > 48)) {
          c.appendChild(el('span', 'size', size(T.bytes[i])));
        }
      }
      var key = state.colour === 'package' ? T.owner[i] : T.layer[i];
      shown[key] = (shown[key] || 0) + T.bytes[i];
      map.appendChild(c);
      state.drawn += 1;
      return c;
    }

    function layout(node, x, y, w, h, depth, shown) {
      var items = kids[node].filter(function (k) { return T.bytes[k] > 0; });
      items.sort(function (a, b) { return T.bytes[b] - T.bytes[a]; });
      var rects = squarify(items.map(function (k) { return T.bytes[k]; }), x, y, w, h);
      items.forEach(function (k, n) {
        var r = rects[n];
        if (!r || r.w < 1 || r.h < 1 || state.drawn >= MAX_CELLS) return;
        cell(k, r, depth, shown);
        if (opens(k) && depth < MAX_DEPTH && r.w > 60 && r.h > 48) {
          layout(k, r.x + 2, r.y + HEAD, r.w - 4, r.h - HEAD - 2, depth + 1, shown);
        }
      });
    }

    function draw() {
      var i = state.node;
      while (map.firstChild) map.removeChild(map.firstChild);
      tip.hidden = true;
      state.drawn = 0;
      crumbsFor(i);
      up.disabled = i === 0;
      map.setAttribute('aria-label', 'Treemap of ' + pathOf(i) + ', ' + size(T.bytes[i]));
      var shown = {};
      var w = map.clientWidth, h = map.clientHeight;
      layout(i, 0, 0, w, h, 0, shown);
      legendFor(shown);
      var empty = kids[i].filter(function (k) { return T.bytes[k] === 0; }).length;
      summary.textContent = pathOf(i) + ': ' + size(T.bytes[i]) + ' in ' + plural(T.files[i], 'file', 'files') +
        '; ' + plural(state.drawn, 'rectangle', 'rectangles') + ' drawn' +
        (empty ? '; ' + plural(empty, 'entry holds', 'entries hold') + ' no bytes and ' + (empty === 1 ? 'is' : 'are') + ' not drawn' : '') +
        '. The report lists ' + T.listed + ' of the image\u2019s ' + T.paths + ' paths one by one; smaller ones are folded together.';
      fill(details, i);
    }

    function zoom(i, focusAfter) {
      state.node = i;
      draw();
      var target = null;
      if (focusAfter !== null && focusAfter !== undefined) {
        target = map.querySelector('.cell[data-node="' + focusAfter + '"]');
      }
      if (!target) target = map.querySelector('.cell');
      if (target) target.focus();
    }
    function goUp() {
      if (state.node === 0) return;
      var from = state.node;
      zoom(T.parent[from], from);
    }
    function activate(i) {
      if (opens(i) && i !== state.node) zoom(i, null);
      else if (!isDir(i) && T.parent[i] !== state.node) zoom(T.parent[i], i);
    }
    function nodeOf(target) {
      var c = target && target.closest ? target.closest('.cell') : null;
      return c ? Number(c.getAttribute('data-node')) : -1;
    }
    function showTip(i, x, y) {
      fill(tip, i);
      tip.hidden = false;
      var tw = tip.offsetWidth, th = tip.offsetHeight;
      var left = Math.min(x + 14, window.innerWidth - tw - 8);
      var top = y + 16 + th > window.innerHeight ? y - th - 12 : y + 16;
      tip.style.left = Math.max(4, left) + 'px';
      tip.style.top = Math.max(4, top) + 'px';
    }

    map.addEventListener('click', function (e) {
      var i = nodeOf(e.target);
      if (i >= 0) activate(i);
    });
    map.addEventListener('mousemove', function (e) {
      var i = nodeOf(e.target);
      if (i >= 0) showTip(i, e.clientX, e.clientY); else tip.hidden = true;
    });
    map.addEventListener('mouseleave', function () { tip.hidden = true; });
    map.addEventListener('focusin', function (e) {
      var i = nodeOf(e.target);
      if (i < 0) return;
      fill(details, i);
      var r = e.target.getBoundingClientRect();
      showTip(i, r.left + Math.min(r.width / 2, 40), r.top + Math.min(r.height / 2, 24));
    });
    map.addEventListener('focusout', function () { tip.hidden = true; });
    map.addEventListener('keydown', function (e) {
      var i = nodeOf(e.target);
      if ((e.key === 'Enter' || e.key === ' ') && i >= 0) {
        e.preventDefault();
        activate(i);
      }
    });
    s.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' || (e.key === 'Backspace' && e.target.tagName !== 'INPUT')) {
        if (state.node !== 0) { e.preventDefault(); goUp(); }
        tip.hidden = true;
      }
    });
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(draw, 120);
    });
    if (darkQuery && darkQuery.addEventListener) darkQuery.addEventListener('change', draw);

    if (asked.path) {
      var n = 0;
      asked.path.split('/').filter(Boolean).forEach(function (name) {
        var next = kids[n].filter(function (k) { return T.name[k] === name; })[0];
        if (next !== undefined && opens(next)) n = next;
      });
      state.node = n;
    }
    draw();
  }

  /* Squarified treemap (Bruls, Huizing, van Wijk): `values` largest first, all above 0, laid
     out in rows along the shorter side of the space left, each row grown while that keeps its
     rectangles closer to squares. Returns one {x, y, w, h} per value. */
  function squarify(values, x, y, w, h) {
    var out = new Array(values.length);
    var total = 0;
    values.forEach(function (v) { total += v; });
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total;
    var i = 0;
    while (i < values.length) {
      var side = Math.min(w, h);
      var first = values[i] * scale;
      var sum = 0, best = Infinity, j = i;
      while (j < values.length) {
        var a = values[j] * scale;
        var s = sum + a;
        var worst = Math.max((side * side * first) / (s * s), (s * s) / (side * side * a));
        if (worst > best) break;
        best = worst;
        sum = s;
        j += 1;
      }
      var thick = side > 0 ? sum / side : 0;
      var offset = 0;
      for (var k = i; k < j; k += 1) {
        var len = thick > 0 ? (values[k] * scale) / thick : 0;
        out[k] = w >= h
          ? { x: x, y: y + offset, w: thick, h: len }
          : { x: x + offset, y: y, w: len, h: thick };
        offset += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
      i = j;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // The comparison.

  function comparison() {
    document.title = 'strata compare: ' + data.a + ' \u2192 ' + data.b;
    var rows = [['A', data.a], ['B', data.b]];
    if (data.base) rows.push(['Base', data.base]);
    header('Comparison', rows);
    root.appendChild(el('p', 'verdict ' + (data.growth > 0 ? 'grow-text' : data.growth < 0 ? 'shrink-text' : ''),
      'Verdict: ' + data.verdict));
    if (data.limit) {
      root.appendChild(el('p', data.limit_exceeded ? 'fail' : 'pass', 'Limit: ' + data.limit));
    }

    var totals = table(['', 'A', 'B', 'Difference'], [false, true, true, true]);
    totals.table.className = 'compact';
    data.totals.forEach(function (r) {
      totals.body.appendChild(row([el('th', null, r[0]), td(r[1], 'num'), td(r[2], 'num'), td(r[3], 'num')]));
    });
    root.appendChild(totals.table);

    var update = el('dl', 'identity');
    update.appendChild(el('dt', null, 'Pull'));
    update.appendChild(el('dd', null, data.pull));
    if (data.cache) {
      update.appendChild(el('dt', null, 'Cache'));
      update.appendChild(el('dd', null, data.cache));
    }
    root.appendChild(update);

    stacks();
    fileTotals();
    groups();
    packageChanges();
    warnings(data.warnings);
    footer();
  }

  function stacks() {
    var s = section('layers', 'Layers');
    s.appendChild(el('p', null, data.layers_line));
    var max = 1;
    data.layers.forEach(function (r) {
      if (r.a) max = Math.max(max, r.a.bytes);
      if (r.b) max = Math.max(max, r.b.bytes);
    });
    var t = table(['A', 'A size', '', '', 'B size', 'B', 'Row', 'Difference', 'Command'],
      [true, true, false, false, true, true, false, true, false]);
    data.layers.forEach(function (r) {
      function bar(side, cls) {
        var b = el('div', 'bar ' + cls);
        if (side) {
          var f = el('span');
          f.style.width = (100 * side.bytes / max) + '%';
          b.appendChild(f);
        }
        return el('td', null, b);
      }
      var tr = row([
        td(r.a ? String(r.a.index) : '-', 'num'),
        td(r.a ? r.a.size : '-', 'num'),
        bar(r.a, 'left'),
        bar(r.b, 'right b'),
        td(r.b ? r.b.size : '-', 'num'),
        td(r.b ? String(r.b.index) : '-', 'num'),
        td(r.alignment, 'nowrap'),
        td(r.difference, 'num ' + (r.delta > 0 ? 'grow-text' : r.delta < 0 ? 'shrink-text' : '')),
        el('td', 'cmd', el('code', null, r.command))
      ], 'A layer ' + (r.a ? r.a.index : 'none') + ', B layer ' + (r.b ? r.b.index : 'none') + ', ' +
        r.alignment + ', ' + r.difference + ': ' + r.command);
      tr.className = 'al-' + r.alignment.toLowerCase().replace(/ /g, '-');
      t.body.appendChild(tr);
    });
    s.appendChild(t.table);
  }

  function fileTotals() {
    var s = section('files', 'Files of the final filesystems (' + data.files_line + ')');
    var t = table(['', 'Files', 'Bytes', 'Difference'], [false, true, true, true]);
    t.table.className = 'compact';
    data.files.forEach(function (r) {
      t.body.appendChild(row([el('th', null, r[0]), td(r[1], 'num'), td(r[2], 'num'), td(r[3], 'num')]));
    });
    s.appendChild(t.table);
  }

  function groups() {
    var s = section('groups', 'By directory, largest difference first');
    if (!data.groups.length) {
      s.appendChild(el('p', null, 'No file differs.'));
      return;
    }
    s.appendChild(el('p', 'muted', 'Bars to the right grew in B, to the left shrank; ' +
      'the buttons open a directory\u2019s subdirectories and files.'));
    var max = 1;
    (function scan(list) {
      list.forEach(function (g) {
        max = Math.max(max, Math.abs(g.delta));
        scan(g.groups);
        g.files.forEach(function (f) { max = Math.max(max, Math.abs(f.delta)); });
      });
    })(data.groups);
    var t = table(['Directory', 'Difference', '', '+add', '-del', '~chg', '~meta'],
      [false, true, false, true, true, true, true]);
    t.table.className = 'groups';
    function chart(delta) {
      var d = el('div', 'diverge');
      if (delta !== 0) {
        var b = el('span', delta > 0 ? 'grow' : 'shrink');
        b.style.width = Math.max(0.5, 50 * Math.abs(delta) / max) + '%';
        d.appendChild(b);
      }
      return el('td', null, d);
    }
    function moreRow(text, level) {
      var tr = el('tr');
      tr.setAttribute('data-level', String(level));
      tr.appendChild(el('td', 'muted indent' + level, text));
      for (var k = 0; k < 6; k += 1) tr.appendChild(el('td'));
      return tr;
    }
    function signed(delta) { return delta > 0 ? 'grow-text' : delta < 0 ? 'shrink-text' : ''; }
    /* The rows of `list` (and a row for `more` left out) at `level`, after `anchor` (at the end
       when null); returns the last row added. */
    function put(list, more, level, anchor) {
      var last = anchor;
      function insert(tr) {
        tr.setAttribute('data-level', String(level));
        if (last) last.parentNode.insertBefore(tr, last.nextSibling);
        else t.body.appendChild(tr);
        last = tr;
      }
      list.forEach(function (g) {
        var name = el('td', 'cmd indent' + level);
        var tr = row([name, td(g.difference, 'num ' + signed(g.delta)),
          chart(g.delta), td(String(g.counts[0]), 'num'), td(String(g.counts[1]), 'num'),
          td(String(g.counts[2]), 'num'), td(String(g.counts[3]), 'num')],
          g.path + ', ' + g.difference);
        if (g.groups.length > 0 || g.files.length > 0) {
          var b = el('button', 'toggle', '\u25b8');
          b.type = 'button';
          b.setAttribute('aria-expanded', 'false');
          b.setAttribute('aria-label', 'open ' + g.path);
          b.addEventListener('click', function () { toggle(g, tr, b, level); });
          name.appendChild(b);
        } else {
          name.appendChild(el('span', 'toggle', ''));
        }
        name.appendChild(el('code', null, g.path));
        insert(tr);
      });
      if (more > 0) insert(moreRow('\u2026 ' + plural(more, 'more directory', 'more directories'), level));
      return last;
    }
    /* Opens a directory's rows below its own, or closes them (and all opened below them). */
    function toggle(g, tr, button, level) {
      if (button.getAttribute('aria-expanded') === 'true') {
        var next = tr.nextSibling;
        while (next && Number(next.getAttribute('data-level')) > level) {
          var after = next.nextSibling;
          next.parentNode.removeChild(next);
          next = after;
        }
        button.setAttribute('aria-expanded', 'false');
        button.setAttribute('aria-label', 'open ' + g.path);
        button.textContent = '\u25b8';
        return;
      }
      var end = put(g.groups, g.more_groups, level + 1, tr);
      function after(row) {
        row.setAttribute('data-level', String(level + 1));
        end.parentNode.insertBefore(row, end.nextSibling);
        end = row;
      }
      g.files.forEach(function (f) {
        var change = el('td', null, f.change);
        change.colSpan = 4;
        after(row([el('td', 'cmd indent' + (level + 1), el('code', null, f.path)),
          td(f.difference, 'num ' + signed(f.delta)), chart(f.delta), change],
          f.path + ', ' + f.change + ', ' + f.difference));
      });
      if (g.more_files > 0) {
        after(moreRow('\u2026 ' + plural(g.more_files, 'more file', 'more files') +
          ' (the JSON lists them all)', level + 1));
      }
      button.setAttribute('aria-expanded', 'true');
      button.setAttribute('aria-label', 'close ' + g.path);
      button.textContent = '\u25be';
    }
    put(data.groups, data.more_groups, 0, null);
    s.appendChild(t.table);
  }

  function packageChanges() {
    if (!data.packages_line) return;
    var s = section('packages', 'Packages');
    s.appendChild(el('p', null, data.packages_line));
    var t = table(['Difference', 'Change', 'Package', 'Version'], [true, false, false, false]);
    data.packages.forEach(function (p) {
      t.body.appendChild(row([
        td(p.difference, 'num ' + (p.delta > 0 ? 'grow-text' : p.delta < 0 ? 'shrink-text' : '')),
        td(p.change),
        el('td', 'cmd', [p.name, p.build_time ? el('span', 'muted', ' (build-time)') : null]),
        td(p.versions, 'cmd')
      ]));
    });
    s.appendChild(t.table);
  }

  if (data.kind === 'analysis') analysis();
  else if (data.kind === 'compare') comparison();
  else fail('unknown report kind');
})();
