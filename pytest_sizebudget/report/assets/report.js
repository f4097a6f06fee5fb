(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sizebudget-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var W = 1000, H = 420;
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
  function fmt(n) {
    if (n === null || n === undefined) { return "?"; }
    return n.toLocaleString("en-US") + " B";
  }
  function signed(n) {
    if (n === null || n === undefined) { return ""; }
    return (n > 0 ? "+" : "") + n.toLocaleString("en-US");
  }
  // Squarified treemap (Bruls, Huizing, van Wijk): items sorted by value, descending.
  function squarify(items, x, y, w, h) {
    var out = [], rest = items.filter(function (i) { return i.value > 0; });
    var total = rest.reduce(function (s, i) { return s + i.value; }, 0);
    if (total <= 0) { return out; }
    var scale = (w * h) / total;
    var cells = rest.map(function (i) { return { item: i, area: i.value * scale }; });
    function worst(row, side) {
      var s = 0, mx = 0, mn = Infinity;
      row.forEach(function (c) { s += c.area; mx = Math.max(mx, c.area); mn = Math.min(mn, c.area); });
      return Math.max((side * side * mx) / (s * s), (s * s) / (side * side * mn));
    }
    var row = [];
    while (cells.length) {
      var side = Math.min(w, h), c = cells[0];
      if (row.length === 0 || worst(row.concat([c]), side) <= worst(row, side)) {
        row.push(c); cells.shift(); continue;
      }
      layoutRow();
    }
    if (row.length) { layoutRow(); }
    return out;
    function layoutRow() {
      var s = row.reduce(function (a, c) { return a + c.area; }, 0);
      if (w >= h) {
        var rw = s / h, cy = y;
        row.forEach(function (c) { var ch = c.area / rw; out.push({ item: c.item, x: x, y: cy, w: rw, h: ch }); cy += ch; });
        x += rw; w -= rw;
      } else {
        var rh = s / w, cx = x;
        row.forEach(function (c) { var cw = c.area / rh; out.push({ item: c.item, x: cx, y: y, w: cw, h: rh }); cx += cw; });
        y += rh; h -= rh;
      }
      row = [];
    }
  }
  function colour(blob, hasBaseline) {
    if (!hasBaseline) { return blob.share > 1 ? "#90caf9" : "#64b5f6"; }
    if (blob.delta === null || blob.delta === 0) { return "#b0bec5"; }
    if (blob.delta > 0) { return blob.added ? "#e53935" : "#ef9a9a"; }
    return "#66bb6a";
  }
  function treemap(b) {
    var svg = sv("svg", { "class": "treemap", viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "Treemap of " + b.name });
    var pkgs = b.packages.map(function (p) { return { value: p.charged, p: p }; });
    // A merged set's fixed meta.far allowance is part of "used": give it its own tile.
    if (b.fixed > 0) { pkgs.push({ value: b.fixed, fixed: true }); }
    var hasBaseline = b.baseline === "matched";
    squarify(pkgs, 0, 0, W, H).forEach(function (pc) {
      if (pc.item.fixed) {
        var fr = sv("rect", { "class": "fixed", x: pc.x.toFixed(2), y: pc.y.toFixed(2),
          width: pc.w.toFixed(2), height: pc.h.toFixed(2), fill: "#cfd8dc" });
        var ft = sv("title", {});
        ft.textContent = "merged meta.far (fixed allowance): " + fmt(b.fixed);
        fr.appendChild(ft); svg.appendChild(fr);
        if (pc.w > 60 && pc.h > 14) {
          var fx = sv("text", { x: (pc.x + 4).toFixed(2), y: (pc.y + 13).toFixed(2) });
          fx.textContent = "merged meta.far (fixed)"; svg.appendChild(fx);
        }
        return;
      }
      var p = pc.item.p, g = sv("g", { "class": "package-group", "data-package": p.name });
      var pad = 3, lab = pc.h > 30 && pc.w > 40 ? 14 : 0;
      var blobs = p.blobs.filter(function (bl) { return bl.charged > 0; })
        .map(function (bl) { return { value: bl.charged, bl: bl }; });
      squarify(blobs, pc.x + pad, pc.y + pad + lab, Math.max(pc.w - 2 * pad, 0),
               Math.max(pc.h - 2 * pad - lab, 0)).forEach(function (bc) {
        var bl = bc.item.bl;
        var r = sv("rect", { "class": "blob" + (bl.share > 1 ? " shared" : ""),
          x: bc.x.toFixed(2), y: bc.y.toFixed(2), width: bc.w.toFixed(2), height: bc.h.toFixed(2),
          fill: colour(bl, hasBaseline), "data-package": p.name, "data-path": bl.path,
          "data-merkle": bl.merkle, "data-label": p.name + "/" + bl.path });
        var t = sv("title", {});
        t.textContent = p.name + " / " + bl.path + "\n" + fmt(bl.charged) + " charged" +
          (bl.share > 1 ? " (shared by " + bl.share + ")" : "") +
          (bl.delta ? "\n" + signed(bl.delta) + " B since baseline" : "");
        r.appendChild(t); g.appendChild(r);
        if (bc.w > 60 && bc.h > 14) {
          var tx = sv("text", { x: (bc.x + 3).toFixed(2), y: (bc.y + 12).toFixed(2) });
          tx.textContent = bl.path.split("/").pop(); g.appendChild(tx);
        }
      });
      var pr = sv("rect", { "class": "package", x: pc.x.toFixed(2), y: pc.y.toFixed(2),
        width: pc.w.toFixed(2), height: pc.h.toFixed(2), "data-package": p.name });
      var pt = sv("title", {}); pt.textContent = p.name + " (" + p.origin + "): " + fmt(p.charged);
      pr.appendChild(pt); g.appendChild(pr);
      if (lab) {
        var lt = sv("text", { x: (pc.x + 4).toFixed(2), y: (pc.y + 13).toFixed(2), "font-weight": "bold" });
        lt.textContent = p.name; g.appendChild(lt);
      }
      svg.appendChild(g);
    });
    return svg;
  }
  // What a budget uses, as segments, against its budget (the dark line).
  var BAR_COLOURS = ["#64b5f6", "#ffb74d", "#81c784", "#ba68c8", "#4db6ac", "#f06292"];
  function bar(b, segments) {
    var BH = 28, total = segments.reduce(function (a, g) { return a + g[1]; }, 0);
    var scale = W / Math.max(total, b.budget, 1), x = 0;
    var svg = sv("svg", { "class": "bar", viewBox: "0 0 " + W + " " + (BH + 18), role: "img",
      "aria-label": "Usage of " + b.name });
    svg.appendChild(sv("rect", { x: 0, y: 0, width: (b.budget * scale).toFixed(2), height: BH, fill: "#eceff1" }));
    segments.forEach(function (g, i) {
      var w = g[1] * scale;
      var r = sv("rect", { "class": "segment", x: x.toFixed(2), y: 0, width: w.toFixed(2), height: BH,
        fill: BAR_COLOURS[i % BAR_COLOURS.length], "data-label": g[0] });
      var t = sv("title", {}); t.textContent = g[0] + ": " + fmt(g[1]); r.appendChild(t); svg.appendChild(r);
      if (w > 70) {
        var tx = sv("text", { x: (x + 4).toFixed(2), y: 18 }); tx.textContent = g[0] + " " + fmt(g[1]); svg.appendChild(tx);
      }
      x += w;
    });
    var bx = (b.budget * scale).toFixed(2);
    svg.appendChild(sv("line", { "class": "limit", x1: bx, x2: bx, y1: 0, y2: BH + 4 }));
    var lt = sv("text", { x: Math.max(Number(bx) - 4, 0).toFixed(2), y: BH + 15, "text-anchor": "end" });
    lt.textContent = "budget " + fmt(b.budget); svg.appendChild(lt);
    return svg;
  }
  function sortable(table) {
    var ths = table.querySelectorAll("th");
    ths.forEach(function (th, idx) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        ths.forEach(function (o) { o.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[idx].getAttribute("data-sort"), y = b.cells[idx].getAttribute("data-sort");
          var nx = parseFloat(x), ny = parseFloat(y), r;
          if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = x < y ? -1 : x > y ? 1 : 0; }
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    return table;
  }
  function table(cls, headers, rows) {
    var t = el("table", { "class": "sortable " + cls }), head = el("thead", {}), tr = el("tr", {});
    headers.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
    head.appendChild(tr); t.appendChild(head);
    var body = el("tbody", {});
    rows.forEach(function (r) {
      var row = el("tr", { "data-search": r.search.toLowerCase() });
      r.cells.forEach(function (c) {
        var td = el("td", { "data-sort": c.sort === undefined ? String(c.text) : String(c.sort) }, c.text);
        if (c.num) { td.className = "num"; }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    return sortable(t);
  }
  function num(n, text) { return { text: text === undefined ? fmt(n) : text, sort: n === null ? -Infinity : n, num: true }; }
  var app = document.getElementById("app");
  app.textContent = "";
  var hasBaseline = data.baseline !== null;
  var summaryHead = ["Budget", "File", "Used", "Budget bytes", "Remaining", "Status"];
  if (hasBaseline) { summaryHead.splice(5, 0, "Delta"); }
  var summary = table("summary", summaryHead, data.budgets.map(function (b) {
    var cells = [{ text: b.name }, { text: b.file }, num(b.used), num(b.budget),
      num(b.used === null ? null : b.budget - b.used, b.used === null ? "?" : signed(b.budget - b.used))];
    if (hasBaseline) { cells.push(num(b.delta, b.baseline === "new" ? "new" : signed(b.delta))); }
    cells.push({ text: b.status });
    return { search: b.name + " " + b.file, cells: cells };
  }));
  app.appendChild(el("h2", {}, data.budgets.length + " budgets" +
    (hasBaseline ? " compared with baseline " + data.baseline.path : "")));
  app.appendChild(summary);
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
  legend.appendChild(document.createTextNode("  (dashed outline: blob shared with other packages)"));
  app.appendChild(legend);
  data.budgets.forEach(function (b) {
    var s = el("section", { "class": "budget", "data-budget": b.name });
    var h = el("h2", {}, b.name + " ");
    h.appendChild(el("span", { "class": "status " + b.status }, b.status.toUpperCase()));
    s.appendChild(h);
    var line = b.file + " — used " + fmt(b.used) + " of " + fmt(b.budget);
    if (b.baseline === "matched") { line += ", baseline " + fmt(b.baseline_used) + ", delta " + signed(b.delta) + " B (creep budget " + fmt(b.creep) + ")"; }
    if (b.baseline === "new") { line += ", new since the baseline"; }
    s.appendChild(el("p", {}, line));
    if (b.error) { s.appendChild(el("pre", {}, b.error)); }
    if (b.warning) { s.appendChild(el("p", { "class": "warning" }, b.warning)); }
    var panel = b.panel || { treemap: true, figures: [], bar: [] };
    if (panel.bar.length) { s.appendChild(bar(b, panel.bar)); }
    if (panel.figures.length) {
      s.appendChild(table("figures", ["", ""], panel.figures.map(function (f) {
        return { search: f[0] + " " + f[1], cells: [{ text: f[0] }, { text: f[1] }] };
      })));
    }
    if (panel.treemap) { s.appendChild(treemap(b)); }
    if (b.diff && b.diff.length) {
      var d = el("details", { open: "" }); d.appendChild(el("summary", {}, b.diff.length + (b.diff.length === 1 ? " blob change" : " blob changes") + " since the baseline"));
      d.appendChild(table("diff", ["Change", "Package", "Path", "Merkle", "Charged", "Delta"], b.diff.map(function (c) {
        var m = c.kind === "updated" && c.old_merkle !== c.new_merkle ? c.old_merkle.slice(0, 6) + " → " + c.new_merkle.slice(0, 6) : (c.new_merkle || c.old_merkle).slice(0, 12);
        return { search: c.package + " " + c.path + " " + (c.new_merkle || "") + " " + (c.old_merkle || ""),
          cells: [{ text: c.kind }, { text: c.package }, { text: c.path }, { text: m },
            num(c.kind === "removed" ? c.old_charged_bytes : c.new_charged_bytes), num(c.delta_bytes, signed(c.delta_bytes))] };
      })));
      s.appendChild(d);
    }
    var rows = [];
    b.packages.forEach(function (p) {
      p.blobs.forEach(function (bl) {
        rows.push({ search: p.name + " " + p.origin + " " + bl.path + " " + bl.merkle,
          cells: [{ text: p.name }, { text: bl.path }, { text: bl.merkle.slice(0, 12) }, num(bl.size),
            num(bl.share, bl.excluded_by ? "→ " + bl.excluded_by : String(bl.share)), num(bl.charged)] });
      });
    });
    if (panel.treemap) {
      var det = el("details", {}); det.appendChild(el("summary", {}, rows.length + " blobs in " + b.packages.length + (b.packages.length === 1 ? " package" : " packages")));
      det.appendChild(table("blobs", ["Package", "Path", "Merkle", "Size", "Shared by", "Charged"], rows));
      s.appendChild(det);
    }
    app.appendChild(s);
  });
  document.getElementById("search").addEventListener("input", function (ev) {
    var q = ev.target.value.trim().toLowerCase();
    document.querySelectorAll("tr[data-search]").forEach(function (tr) {
      tr.classList.toggle("hidden", q !== "" && tr.getAttribute("data-search").indexOf(q) < 0);
    });
    document.querySelectorAll("rect.blob").forEach(function (r) {
      var hay = (r.getAttribute("data-label") + " " + r.getAttribute("data-merkle")).toLowerCase();
      r.classList.toggle("dim", q !== "" && hay.indexOf(q) < 0);
    });
  });
  document.body.setAttribute("data-rendered", "true");
})();
