(function () {
  "use strict";
  // Everything the page shows comes from this JSON, written by report/html.py; status,
  // remaining bytes and used percentage are the ones every other report shows.
  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("sizebudget-data").textContent);
  var tParsed = performance.now();
  var SVGNS = "http://www.w3.org/2000/svg";
  // A blob is an array (smaller than an object at 50,000 blobs).
  var B_PATH = 0, B_MERKLE = 1, B_SIZE = 2, B_SHARE = 3, B_CHARGED = 4, B_EXCLUDED = 5,
    B_DELTA = 6, B_ADDED = 7;
  var LABEL_FONT = "11px sans-serif", LINE = 13, PAD = 3, HEADER = 15;
  // Tiles smaller than this (in square pixels) are not drawn one by one: they are
  // gathered into one "N more" tile, so a product of 50,000 blobs draws a few
  // thousand rectangles at most, and no label ever has to squeeze into a sliver.
  var MIN_TILE_AREA = 120;
  var TABLE_ROWS = 200;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    return e;
  }
  // 1,234,567: by hand, since toLocaleString was most of the time of drawing a treemap.
  function grouped(n) {
    var s = String(Math.abs(n)), out = "";
    while (s.length > 3) { out = "," + s.slice(-3) + out; s = s.slice(0, -3); }
    return (n < 0 ? "-" : "") + s + out;
  }
  function fmt(n) {
    if (n === null || n === undefined) { return "?"; }
    return grouped(n) + " B";
  }
  function signed(n) {
    if (n === null || n === undefined) { return ""; }
    return (n > 0 ? "+" : "") + grouped(n);
  }
  // Short sizes for tiles: 1024-based, three significant digits.
  function human(n) {
    if (n === null || n === undefined) { return "?"; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0, v = Math.abs(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    var text = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    return (n < 0 ? "-" : "") + text + " " + units[i];
  }

  // Text that fits a width, with an ellipsis when cut; measured with the label font.
  var measureCtx = document.createElement("canvas").getContext("2d");
  measureCtx.font = LABEL_FONT;
  var widthCache = Object.create(null);
  function textWidth(s) {
    var w = widthCache[s];
    if (w === undefined) { w = measureCtx.measureText(s).width; widthCache[s] = w; }
    return w;
  }
  function fit(s, width) {
    if (width <= 0) { return ""; }
    if (textWidth(s) <= width) { return s; }
    var lo = 0, hi = s.length;
    while (lo < hi) {  // the longest prefix that fits with the ellipsis
      var mid = (lo + hi + 1) >> 1;
      if (textWidth(s.slice(0, mid) + "…") <= width) { lo = mid; } else { hi = mid - 1; }
    }
    // A stub of a name ("p…") says nothing: under four characters, no label at all.
    return lo < Math.min(4, s.length) ? "" : s.slice(0, lo) + "…";
  }

  // Squarified treemap (Bruls, Huizing, van Wijk) of items sorted by value, descending.
  function squarify(items, x, y, w, h) {
    var out = [], rest = items.filter(function (i) { return i.value > 0; });
    var total = rest.reduce(function (s, i) { return s + i.value; }, 0);
    if (total <= 0 || w <= 0 || h <= 0) { return out; }
    var scale = (w * h) / total, row = [], rowSum = 0, rowMin = Infinity, rowMax = 0, i = 0;
    function worst(sum, mn, mx, side) {
      return Math.max((side * side * mx) / (sum * sum), (sum * sum) / (side * side * mn));
    }
    while (i < rest.length) {
      var a = rest[i].value * scale, side = Math.min(w, h);
      if (row.length === 0 ||
          worst(rowSum + a, Math.min(rowMin, a), Math.max(rowMax, a), side) <=
          worst(rowSum, rowMin, rowMax, side)) {
        row.push({ item: rest[i], area: a }); rowSum += a;
        rowMin = Math.min(rowMin, a); rowMax = Math.max(rowMax, a); i++; continue;
      }
      layoutRow();
    }
    if (row.length) { layoutRow(); }
    return out;
    function layoutRow() {
      if (w >= h) {
        var rw = rowSum / h, cy = y;
        row.forEach(function (c) { var ch = c.area / rw; out.push({ item: c.item, x: x, y: cy, w: rw, h: ch }); cy += ch; });
        x += rw; w -= rw;
      } else {
        var rh = rowSum / w, cx = x;
        row.forEach(function (c) { var cw = c.area / rh; out.push({ item: c.item, x: cx, y: y, w: cw, h: rh }); cx += cw; });
        y += rh; h -= rh;
      }
      row = []; rowSum = 0; rowMin = Infinity; rowMax = 0;
    }
  }
  // Items worth a tile of their own in an area: the largest, while each keeps at least
  // MIN_TILE_AREA; the rest become one "N more" item.
  function withOthers(items, area) {
    var total = items.reduce(function (s, i) { return s + i.value; }, 0);
    if (total <= 0) { return []; }
    var scale = area / total, kept = [], restValue = 0, restCount = 0;
    items.forEach(function (it) {
      if (it.value * scale >= MIN_TILE_AREA) { kept.push(it); } else { restValue += it.value; restCount++; }
    });
    if (restCount === 1 && restValue * scale >= MIN_TILE_AREA / 4) {
      // One small item: draw it rather than a "1 more" tile of the same size.
      kept = items.slice(); restCount = 0; restValue = 0;
    }
    if (restCount) { kept.push({ value: restValue, others: restCount }); }
    return kept;
  }
  function colour(blob, hasBaseline) {
    if (!hasBaseline) { return blob[B_SHARE] > 1 ? "#90caf9" : "#64b5f6"; }
    var delta = blob[B_DELTA];
    if (delta === null || delta === 0) { return "#b0bec5"; }
    if (delta > 0) { return blob[B_ADDED] ? "#e53935" : "#ef9a9a"; }
    return "#66bb6a";
  }
  function title(node, text) {
    var t = sv("title", {}); t.textContent = text; node.appendChild(t);
  }
  // Up to two lines in a tile: its name (cut with an ellipsis), then its size when that
  // fits too.  Nothing is drawn where not even one line fits, and a label never leaves
  // its tile, so labels never overlap.
  function label(parent, x, y, w, h, name, size, cls) {
    var room = w - 2 * PAD;
    if (h < LINE + 2 || room < 12) { return; }
    if (h < 2 * LINE + 2 || !size || textWidth(size) > room) {
      line(parent, x, y, room, name, size, cls);
      return;
    }
    var first = fit(name, room);
    if (!first) { line(parent, x, y, room, size, null, "size"); return; }
    var t = sv("text", { x: (x + PAD).toFixed(1), y: (y + LINE - 1).toFixed(1), "class": cls || "" });
    t.textContent = first; parent.appendChild(t);
    var s = sv("text", { x: (x + PAD).toFixed(1), y: (y + 2 * LINE - 1).toFixed(1), "class": "size" });
    s.textContent = size; parent.appendChild(s);
  }
  // One line: "name  size", the name cut first so that the size stays while it can.
  function line(parent, x, y, room, name, size, cls) {
    var text = size ? name + "  " + size : name;
    if (textWidth(text) > room && size) {
      var cut = fit(name, room - textWidth("  " + size));
      text = cut && cut.length >= 4 ? cut + "  " + size : fit(name, room);
    } else {
      text = fit(text, room);
    }
    if (!text) { return; }
    var t = sv("text", { x: (x + PAD).toFixed(1), y: (y + LINE - 1).toFixed(1), "class": cls || "" });
    t.textContent = text; parent.appendChild(t);
  }

  // One budget's treemap: packages, or one package's blobs when zoomed into it.
  function Treemap(b, index, holder) {
    this.b = b; this.index = index; this.holder = holder; this.zoom = null; this.drawnWidth = 0;
  }
  Treemap.prototype.draw = function () {
    var b = this.b, holder = this.holder;
    var W = Math.max(holder.clientWidth, 320), H = Math.round(Math.max(320, Math.min(720, W * 0.42)));
    this.drawnWidth = holder.clientWidth;
    holder.textContent = "";
    var crumbs = el("nav", { "class": "crumbs" });
    var pkg = this.zoom === null ? null : b.packages.filter(function (p) { return p.name === this.zoom; }, this)[0] || null;
    if (pkg) {
      var back = el("a", { href: "#" + budgetAnchor(this.index), "class": "zoom-out" }, "All packages");
      crumbs.appendChild(back);
      crumbs.appendChild(document.createTextNode(" › "));
      crumbs.appendChild(el("span", { "class": "zoomed" }, pkg.name + " (" + human(pkg.charged) + ", " +
        pkg.blobs.length + (pkg.blobs.length === 1 ? " blob)" : " blobs)")));
    } else {
      crumbs.appendChild(el("span", {}, b.packages.length + (b.packages.length === 1 ? " package" : " packages") +
        (b.packages.length ? " — click one to zoom in" : "")));
    }
    holder.appendChild(crumbs);
    var svg = sv("svg", { "class": "treemap", width: W, height: H, viewBox: "0 0 " + W + " " + H,
      role: "img", "aria-label": "Treemap of " + b.name + (pkg ? " / " + pkg.name : ""),
      "data-zoom": pkg ? pkg.name : "" });
    if (pkg) { this.drawBlobs(svg, pkg, 0, 0, W, H, true); } else { this.drawPackages(svg, W, H); }
    holder.appendChild(svg);
  };
  Treemap.prototype.drawPackages = function (svg, W, H) {
    var b = this.b, self = this;
    var items = b.packages.map(function (p) { return { value: p.charged, p: p }; });
    // A merged set's fixed meta.far allowance is part of "used": give it its own tile.
    if (b.fixed > 0) { items.push({ value: b.fixed, fixed: true }); }
    squarify(withOthers(items, W * H), 0, 0, W, H).forEach(function (pc) {
      var it = pc.item;
      if (it.fixed) {
        var fr = sv("rect", { "class": "fixed", x: pc.x.toFixed(2), y: pc.y.toFixed(2),
          width: pc.w.toFixed(2), height: pc.h.toFixed(2), fill: "#cfd8dc" });
        title(fr, "merged meta.far (fixed allowance): " + fmt(b.fixed)); svg.appendChild(fr);
        label(svg, pc.x, pc.y, pc.w, pc.h, "merged meta.far (fixed)", human(b.fixed));
        return;
      }
      if (it.others) {
        var or = sv("rect", { "class": "others", x: pc.x.toFixed(2), y: pc.y.toFixed(2),
          width: pc.w.toFixed(2), height: pc.h.toFixed(2) });
        title(or, it.others + " smaller packages: " + fmt(it.value) + " (listed in the table below)");
        svg.appendChild(or);
        label(svg, pc.x, pc.y, pc.w, pc.h, it.others + " more packages", human(it.value));
        return;
      }
      var p = it.p, g = sv("g", { "class": "package-group", "data-package": p.name });
      // A tile with room for a header names its package (and gives its size, on a line
      // of its own when the tile is tall enough) and shows its blobs below; a smaller
      // one is its package's name and size alone.
      var head = pc.w < 40 ? 0 : pc.h >= 4 * LINE ? 2 * LINE + 2 : pc.h >= 2 * LINE + 12 ? HEADER : 0;
      if (head) {
        self.drawBlobs(g, p, pc.x + PAD, pc.y + PAD + head, pc.w - 2 * PAD, pc.h - 2 * PAD - head, false);
      }
      var pr = sv("rect", { "class": head ? "package" : "package collapsed", x: pc.x.toFixed(2), y: pc.y.toFixed(2),
        width: pc.w.toFixed(2), height: pc.h.toFixed(2), "data-package": p.name,
        "data-bytes": p.charged });
      title(pr, p.name + " (" + p.origin + "): " + fmt(p.charged) + "\nclick to zoom in");
      g.appendChild(pr);
      if (head === HEADER) {
        line(g, pc.x, pc.y + 1, pc.w - 2 * PAD, p.name, human(p.charged), "package-label");
      } else {
        label(g, pc.x, pc.y + 1, pc.w, head || pc.h, p.name, human(p.charged), "package-label");
      }
      g.addEventListener("click", function () { location.hash = budgetAnchor(self.index) + "/" + encodeURIComponent(p.name); });
      svg.appendChild(g);
    });
  };
  Treemap.prototype.drawBlobs = function (parent, p, x, y, w, h, labelled) {
    if (w < 4 || h < 4) { return; }
    var hasBaseline = this.b.baseline === "matched";
    var items = [];
    p.blobs.forEach(function (bl) { if (bl[B_CHARGED] > 0) { items.push({ value: bl[B_CHARGED], bl: bl }); } });
    squarify(withOthers(items, w * h), x, y, w, h).forEach(function (bc) {
      var it = bc.item, bl = it.bl;
      if (it.others) {
        var o = sv("rect", { "class": "others", x: bc.x.toFixed(2), y: bc.y.toFixed(2),
          width: bc.w.toFixed(2), height: bc.h.toFixed(2), "data-package": p.name });
        title(o, it.others + " smaller blobs of " + p.name + ": " + fmt(it.value));
        parent.appendChild(o);
        if (labelled) { label(parent, bc.x, bc.y, bc.w, bc.h, it.others + " more blobs", human(it.value)); }
        return;
      }
      var r = sv("rect", { "class": "blob" + (bl[B_SHARE] > 1 ? " shared" : ""),
        x: bc.x.toFixed(2), y: bc.y.toFixed(2), width: bc.w.toFixed(2), height: bc.h.toFixed(2),
        fill: colour(bl, hasBaseline), "data-package": p.name, "data-path": bl[B_PATH],
        "data-merkle": bl[B_MERKLE], "data-label": p.name + "/" + bl[B_PATH], "data-bytes": bl[B_CHARGED] });
      title(r, p.name + " / " + bl[B_PATH] + "\n" + fmt(bl[B_CHARGED]) + " charged" +
        (bl[B_SHARE] > 1 ? " (shared by " + bl[B_SHARE] + ")" : "") +
        (bl[B_DELTA] ? "\n" + signed(bl[B_DELTA]) + " B since baseline" : ""));
      parent.appendChild(r);
      // In the overview only blobs with room for a line are labelled: the package's
      // name is the header above them.
      if (labelled || (bc.w >= 60 && bc.h >= LINE + 4)) {
        label(parent, bc.x, bc.y, bc.w, bc.h, bl[B_PATH].split("/").pop(), human(bl[B_CHARGED]));
      }
    });
    applySearch(parent);
  };

  // What a budget uses, as segments, against its budget: a full-width bar whose
  // segments carry their sizes where they fit (an ellipsis where not).
  var BAR_COLOURS = { data: "#1e88e5", holes: "#90caf9", image: "#42a5f5", used: "#42a5f5",
    reserve: "#ffb74d", headroom: "#c8e6c9", over: "#e53935" };
  var OTHER_COLOURS = ["#64b5f6", "#ffb74d", "#81c784", "#ba68c8", "#4db6ac", "#f06292"];
  function bar(b, segments) {
    var total = segments.reduce(function (a, g) { return a + g[1]; }, 0);
    var scale = 100 / Math.max(total, b.budget, 1);
    var wrap = el("div", { "class": "bar", role: "img", "aria-label": "Usage of " + b.name });
    var track = el("div", { "class": "track" });
    track.appendChild(el("div", { "class": "budget-area", style: "width:" + (b.budget * scale).toFixed(3) + "%" }));
    var x = 0;
    segments.forEach(function (g, i) {
      var w = g[1] * scale;
      var seg = el("div", { "class": "segment", "data-label": g[0], "data-bytes": g[1],
        title: g[0] + ": " + fmt(g[1]),
        style: "left:" + x.toFixed(3) + "%;width:" + w.toFixed(3) + "%;background:" +
          (BAR_COLOURS[g[0]] || OTHER_COLOURS[i % OTHER_COLOURS.length]) });
      seg.appendChild(el("span", {}, g[0] + " " + human(g[1])));
      track.appendChild(seg);
      x += w;
    });
    var lim = el("div", { "class": "limit", style: "left:" + (b.budget * scale).toFixed(3) + "%",
      title: "budget " + fmt(b.budget) });
    track.appendChild(lim);
    if (b.warn_limit !== null && b.warn_limit !== undefined) {
      track.appendChild(el("div", { "class": "warn-limit", style: "left:" + (b.warn_limit * scale).toFixed(3) + "%",
        title: "warns above " + fmt(b.warn_limit) }));
    }
    wrap.appendChild(track);
    var axis = el("div", { "class": "axis" });
    axis.appendChild(el("span", {}, "0"));
    axis.appendChild(el("span", { "class": "budget-label" }, "budget " + fmt(b.budget)));
    wrap.appendChild(axis);
    return wrap;
  }

  // Tables: the rows are data, drawn (at most TABLE_ROWS of them, filtered by the
  // search box) when shown and sorted by clicking a header.
  function DataTable(cls, headers, rows) {
    this.cls = cls; this.headers = headers; this.rows = rows; this.sortCol = -1; this.asc = true;
    this.node = el("div", { "class": "table-wrap" });
    tables.push(this);
  }
  DataTable.prototype.render = function () {
    var self = this, q = query;
    var shown = q ? this.rows.filter(function (r) { return r.search.indexOf(q) >= 0; }) : this.rows.slice();
    if (this.sortCol >= 0) {
      var c = this.sortCol, dir = this.asc ? 1 : -1;
      shown.sort(function (a, b) {
        var x = a.cells[c].sort, y = b.cells[c].sort;
        if (typeof x === "number" && typeof y === "number") { return (x - y) * dir; }
        x = String(x); y = String(y);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
    }
    var t = el("table", { "class": "sortable " + this.cls }), head = el("thead", {}), tr = el("tr", {});
    this.headers.forEach(function (h, i) {
      var th = el("th", {}, h);
      if (i === self.sortCol) { th.className = self.asc ? "sorted-asc" : "sorted-desc"; }
      th.addEventListener("click", function () {
        self.asc = self.sortCol === i ? !self.asc : true; self.sortCol = i; self.render();
      });
      tr.appendChild(th);
    });
    head.appendChild(tr); t.appendChild(head);
    var body = el("tbody", {});
    shown.slice(0, this.limit || TABLE_ROWS).forEach(function (r) {
      var row = el("tr", { "data-search": r.search });
      if (r.cls) { row.className = r.cls; }
      r.cells.forEach(function (c) {
        var td = el("td", { "data-sort": String(c.sort) });
        if (c.node) { td.appendChild(c.node); } else { td.textContent = c.text; }
        if (c.num) { td.className = "num"; }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    this.node.textContent = "";
    this.node.appendChild(t);
    var limit = this.limit || TABLE_ROWS;
    if (shown.length > limit) {
      var more = el("button", { type: "button", "class": "more" }, "show " +
        grouped(Math.min(shown.length - limit, 1000)) + " more of " +
        grouped(shown.length - limit) + " not shown");
      more.addEventListener("click", function () { self.limit = limit + 1000; self.render(); });
      this.node.appendChild(more);
    }
    this.rendered = true;
    return this.node;
  };
  function cell(text, sort) { return { text: text, sort: sort === undefined ? String(text) : sort }; }
  function num(n, text) {
    return { text: text === undefined ? fmt(n) : text, sort: n === null || n === undefined ? -Infinity : n, num: true };
  }

  var tables = [], treemaps = [], query = "";
  var STATUS_TEXT = { error: "ERROR", over: "OVER", creep: "CREEP", warn: "WARN", ok: "OK" };
  function budgetAnchor(i) { return "budget-" + i; }
  function statusChip(status) { return el("span", { "class": "status " + status }, STATUS_TEXT[status] || status); }

  var app = document.getElementById("app");
  app.textContent = "";
  var hasBaseline = data.baseline !== null;
  var counts = { error: 0, over: 0, creep: 0, warn: 0, ok: 0 };
  data.budgets.forEach(function (b) { counts[b.status] = (counts[b.status] || 0) + 1; });
  var countsNode = document.getElementById("counts");
  ["over", "creep", "error", "warn", "ok"].forEach(function (s) {
    if (counts[s]) {
      var chip = statusChip(s); chip.textContent = counts[s] + " " + STATUS_TEXT[s]; countsNode.appendChild(chip);
    }
  });

  app.appendChild(el("h2", {}, data.budgets.length + (data.budgets.length === 1 ? " budget" : " budgets") +
    (hasBaseline ? " compared with baseline " + data.baseline.path : "")));
  var summaryHead = ["Status", "Budget", "File", "Used", "Budget bytes", "Remaining", "Used %"];
  if (hasBaseline) { summaryHead.push("Delta"); }
  var summary = new DataTable("summary", summaryHead, data.budgets.map(function (b, i) {
    var link = el("a", { href: "#" + budgetAnchor(i) }, b.name);
    var cells = [{ node: statusChip(b.status), sort: b.severity }, { node: link, sort: b.name },
      cell(b.file), num(b.used), num(b.budget), num(b.remaining, b.remaining === null ? "?" : signed(b.remaining)),
      num(b.used_percent, b.used_percent === null ? "?" : b.used_percent.toFixed(1) + "%")];
    if (hasBaseline) { cells.push(num(b.delta, b.baseline === "new" ? "new" : signed(b.delta))); }
    return { search: (b.name + " " + b.file).toLowerCase(), cells: cells,
      cls: b.status === "ok" ? "" : "attention " + b.status };
  }));
  summary.limit = 1000;
  app.appendChild(summary.render());
  if (hasBaseline && data.baseline.gone.length) {
    app.appendChild(el("p", { "class": "gone" }, "Gone since the baseline: " +
      data.baseline.gone.map(function (g) { return g.name + " [" + g.file + "]"; }).join(", ")));
  }
  data.problems.forEach(function (p) { app.appendChild(el("pre", { "class": "problem" }, p.message)); });
  var legend = el("p", { "class": "legend" });
  [["#e53935", "added"], ["#ef9a9a", "grew"], ["#66bb6a", "shrank"], ["#b0bec5", "unchanged"],
   ["#64b5f6", "no baseline"]].forEach(function (l) {
    legend.appendChild(el("span", { style: "background:" + l[0] })); legend.appendChild(document.createTextNode(l[1]));
  });
  legend.appendChild(document.createTextNode("  (dashed outline: blob shared with other packages; grey: smaller tiles gathered into one)"));
  // The colours of treemaps: only where there is one.
  if (data.budgets.some(function (b) { return b.panel && b.panel.treemap; })) { app.appendChild(legend); }

  data.budgets.forEach(function (b, i) {
    var s = el("section", { "class": "budget " + b.status, id: budgetAnchor(i), "data-budget": b.name,
      "data-status": b.status });
    var h = el("h2", {});
    h.appendChild(statusChip(b.status));
    h.appendChild(document.createTextNode(" " + b.name));
    h.appendChild(el("span", { "class": "kind" }, b.title === b.name ? b.kind : b.title.replace(/ '.*$/, "")));
    s.appendChild(h);
    var figures = el("dl", { "class": "headline" });
    function fig(k, v, cls) {
      var d = el("div", cls ? { "class": cls } : {}); d.appendChild(el("dt", {}, k)); d.appendChild(el("dd", {}, v)); figures.appendChild(d);
    }
    fig("used", fmt(b.used));
    fig("budget", fmt(b.budget));
    if (b.reserve) { fig("reserve", fmt(b.reserve)); }
    fig("remaining", b.remaining === null ? "?" : signed(b.remaining) + " B", "remaining");
    fig("used %", b.used_percent === null ? "?" : b.used_percent.toFixed(1) + "%");
    if (b.baseline === "matched") {
      fig("baseline", fmt(b.baseline_used));
      fig("delta", signed(b.delta) + " B");
    }
    if (b.baseline === "new") { fig("baseline", "new since the baseline"); }
    if (b.creep_percent !== null || b.creep || b.baseline === "matched") {
      fig("creep budget", (b.creep === null ? "" : fmt(b.creep)) +
        (b.creep_percent !== null ? (b.creep === null ? "" : " (") + b.creep_percent + "% of the baseline" + (b.creep === null ? "" : ")") : ""));
    }
    s.appendChild(figures);
    s.appendChild(el("p", { "class": "where" }, b.file + ":" + b.line + (b.owner ? "  ·  owner " + b.owner : "")));
    if (b.error) { s.appendChild(el("pre", { "class": "error" }, b.error)); }
    if (b.warning) { s.appendChild(el("p", { "class": "warning" }, b.warning)); }
    var panel = b.panel || { treemap: true, figures: [], bar: [] };
    // Every measured budget gets a bar: its kind's segments, else what it uses, any
    // reserve and the headroom left.
    var segments = panel.bar;
    if (!segments.length && b.used !== null) {
      segments = [["used", b.used]];
      if (b.reserve) { segments.push(["reserve", b.reserve]); }
      if (b.remaining > 0) { segments.push(["headroom", b.remaining]); }
    }
    if (segments.length) { s.appendChild(bar(b, segments)); }
    if (panel.figures.length) {
      var ft = el("table", { "class": "figures" }), fb = el("tbody", {});
      panel.figures.forEach(function (f) {
        var tr = el("tr", {}); tr.appendChild(el("td", {}, f[0])); tr.appendChild(el("td", {}, f[1])); fb.appendChild(tr);
      });
      ft.appendChild(fb); s.appendChild(ft);
    }
    if (panel.treemap) {
      var holder = el("div", { "class": "treemap-holder", "data-budget": b.name });
      s.appendChild(holder);
      treemaps.push(new Treemap(b, i, holder));
    }
    if (b.diff && b.diff.length) {
      var d = el("details", { open: "" });
      d.appendChild(el("summary", {}, b.diff.length + (b.diff.length === 1 ? " blob change" : " blob changes") + " since the baseline"));
      var dt = new DataTable("diff", ["Change", "Package", "Path", "Merkle", "Charged", "Delta"], b.diff.map(function (c) {
        var m = c.kind === "updated" && c.old_merkle !== c.new_merkle ? c.old_merkle.slice(0, 12) + " → " + c.new_merkle.slice(0, 12) : (c.new_merkle || c.old_merkle).slice(0, 12);
        return { search: (c.package + " " + c.path + " " + (c.new_merkle || "") + " " + (c.old_merkle || "")).toLowerCase(),
          cells: [cell(c.kind), cell(c.package), cell(c.path), cell(m),
            num(c.kind === "removed" ? c.old_charged_bytes : c.new_charged_bytes), num(c.delta_bytes, signed(c.delta_bytes))] };
      }));
      d.appendChild(dt.render());
      s.appendChild(d);
    }
    if (panel.treemap) {
      var nblobs = b.packages.reduce(function (n, p) { return n + p.blobs.length; }, 0);
      var det = el("details", { "class": "blobs" });
      det.appendChild(el("summary", {}, grouped(nblobs) + " blobs in " +
        grouped(b.packages.length) + (b.packages.length === 1 ? " package" : " packages")));
      var bt = null;
      // Built when first opened: 50,000 rows of data cost nothing until then.
      det.addEventListener("toggle", function () {
        if (!det.open || bt) { return; }
        var rows = [];
        b.packages.forEach(function (p) {
          p.blobs.forEach(function (bl) {
            rows.push({ search: (p.name + " " + p.origin + " " + bl[B_PATH] + " " + bl[B_MERKLE]).toLowerCase(),
              cells: [cell(p.name), cell(bl[B_PATH]), cell(bl[B_MERKLE].slice(0, 12)), num(bl[B_SIZE]),
                num(bl[B_SHARE], bl[B_EXCLUDED] ? "→ " + bl[B_EXCLUDED] : String(bl[B_SHARE])), num(bl[B_CHARGED])] });
          });
        });
        bt = new DataTable("blobs", ["Package", "Path", "Merkle", "Size", "Shared by", "Charged"], rows);
        det.appendChild(bt.render());
      });
      s.appendChild(det);
    }
    app.appendChild(s);
  });

  // Treemaps are drawn when they come into view (and again when the width changes), so
  // a report of many large budgets opens at once.
  function drawVisible(tm) { if (!tm.drawnWidth || tm.drawnWidth !== tm.holder.clientWidth) { tm.draw(); } }
  var EAGER = 8;  // the first treemaps (failures first) are drawn before the page shows
  treemaps.slice(0, EAGER).forEach(function (tm) { tm.draw(); });
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { var tm = treemaps.filter(function (t) { return t.holder === e.target; })[0]; if (tm) { drawVisible(tm); } }
      });
    }, { rootMargin: "400px" });
    treemaps.forEach(function (tm) { io.observe(tm.holder); });
  } else {
    treemaps.forEach(function (tm) { tm.draw(); });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      treemaps.forEach(function (tm) { if (tm.drawnWidth) { drawVisible(tm); } });
    }, 150);
  });

  // Zoom state lives in the address (#budget-3/package): the back button zooms out.
  function applyHash() {
    var h = location.hash.replace(/^#/, "");
    try { h = decodeURIComponent(h); } catch (e) { /* an address edited by hand: as written */ }
    var m = /^budget-(\d+)(?:\/(.*))?$/.exec(h);
    treemaps.forEach(function (tm) {
      var want = m && Number(m[1]) === tm.index && m[2] !== undefined ? m[2] : null;
      if (want !== tm.zoom) { tm.zoom = want; if (tm.drawnWidth || want !== null) { tm.draw(); } }
    });
    if (m && m[2] !== undefined) {
      var tm = treemaps.filter(function (t) { return t.index === Number(m[1]); })[0];
      if (tm) { tm.holder.scrollIntoView({ block: "nearest" }); }
    }
  }
  window.addEventListener("hashchange", applyHash);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && /\//.test(location.hash)) { location.hash = location.hash.replace(/\/.*$/, ""); }
  });

  function applySearch(root) {
    var nodes = (root || document).querySelectorAll("rect.blob");
    for (var i = 0; i < nodes.length; i++) {
      var r = nodes[i];
      var hay = query === "" ? "" : (r.getAttribute("data-label") + " " + r.getAttribute("data-merkle")).toLowerCase();
      r.classList.toggle("dim", query !== "" && hay.indexOf(query) < 0);
    }
  }
  var searchTimer = null;
  document.getElementById("search").addEventListener("input", function (ev) {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      query = ev.target.value.trim().toLowerCase();
      tables.forEach(function (t) { if (t.rendered) { t.render(); } });
      applySearch(document);
    }, 120);
  });

  applyHash();
  var tDrawn = performance.now();
  // How long the page took, for the browser test and for anyone curious.
  window.sizebudgetTimings = { parse: tParsed - t0, build: tDrawn - tParsed, total: tDrawn - t0 };
  window.sizebudgetTreemaps = treemaps;
  document.body.setAttribute("data-render-ms", (tDrawn - t0).toFixed(1));
  document.body.setAttribute("data-rendered", "true");
})();
