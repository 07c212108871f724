// The request inspector's page: plain HTML, CSS and script served from the admin listener
// (routes.ts), with no outside resources. Everything a plugin or a client controls (headers,
// bodies, log lines) is put on the page as text, never as markup.

export const INSPECTOR_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pwasm request inspector</title>
<link rel="stylesheet" href="/inspector/app.css">
</head>
<body>
<header>
  <h1>pwasm <span>request inspector</span></h1>
  <span id="status" class="status off">connecting…</span>
  <label>Path <input id="f-path" type="search" placeholder="contains…" autocomplete="off"></label>
  <label>Status <input id="f-status" type="search" placeholder="200, 4xx, 5xx" size="8" autocomplete="off"></label>
  <label>Plugin <select id="f-plugin"><option value="">any</option></select></label>
  <button id="clear" type="button" title="Forget the requests shown">Clear</button>
</header>
<main>
  <section id="list">
    <table>
      <thead><tr><th>#</th><th>time</th><th>method</th><th>path</th><th>status</th><th>ms</th><th>what happened</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <p id="empty">Requests sent through the dev proxy appear here as they arrive.</p>
    <h2>Proxy events</h2>
    <ul id="global"></ul>
  </section>
  <section id="detail"><p class="hint">Select a request to see it go through each plugin.</p></section>
</main>
<script src="/inspector/app.js"></script>
</body>
</html>
`;

export const INSPECTOR_CSS = `
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; background: #f5f6f8; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; padding: 8px 14px; background: #1d2330; color: #e8ebf1; }
header h1 { font-size: 15px; margin: 0 8px 0 0; }
header h1 span { font-weight: 400; color: #aab3c5; }
header label { color: #aab3c5; }
header input, header select { margin-left: 4px; padding: 3px 6px; border-radius: 4px; border: 1px solid #444c5e; background: #2a3140; color: #fff; }
header button { padding: 3px 10px; border-radius: 4px; border: 1px solid #444c5e; background: #2a3140; color: #e8ebf1; cursor: pointer; }
.status { padding: 2px 8px; border-radius: 10px; font-size: 12px; }
.status.on { background: #1f7a3f; } .status.off { background: #8a2a2a; }
main { display: grid; grid-template-columns: minmax(420px, 46%) 1fr; height: calc(100vh - 46px); }
#list { overflow: auto; border-right: 1px solid #d5d9e0; background: #fff; }
#detail { overflow: auto; padding: 12px 16px; }
table { width: 100%; border-collapse: collapse; }
th { position: sticky; top: 0; background: #eef0f4; text-align: left; font-weight: 600; padding: 5px 6px; border-bottom: 1px solid #d5d9e0; }
td { padding: 4px 6px; border-bottom: 1px solid #eceef2; vertical-align: top; white-space: nowrap; }
td:last-child { white-space: normal; }
td.path { max-width: 220px; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
tr.row { cursor: pointer; } tr.row:hover { background: #f3f6fb; } tr.row.sel { background: #e2ebfa; }
tr.row.inflight td { color: #7a8294; }
.code { font-weight: 600; } .s2 { color: #1f7a3f; } .s3 { color: #2a5db0; } .s4 { color: #b26a00; } .s5 { color: #b3261e; }
.badge { display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 8px; font-size: 11px; background: #eceef2; color: #3b4355; }
.badge.reply { background: #fff1d6; color: #8a5300; } .badge.fail { background: #fde2e0; color: #a1221a; }
.badge.callout { background: #e3ecfb; color: #234f9c; } .badge.log { background: #e9f5ec; color: #215c33; }
#empty { color: #7a8294; padding: 8px 12px; }
#list h2 { font-size: 13px; margin: 14px 10px 4px; color: #3b4355; }
#global { margin: 0; padding: 0 10px 12px 26px; color: #3b4355; }
#global li.fail { color: #a1221a; }
.hint { color: #7a8294; }
h2.title { font-size: 16px; margin: 0 0 4px; font-family: ui-monospace, monospace; }
.sub { color: #5b6376; margin-bottom: 10px; }
.plugin { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; margin: 10px 0; }
.plugin > h3 { margin: 0; padding: 6px 10px; font-size: 13px; background: #eef0f4; border-bottom: 1px solid #d5d9e0; border-radius: 6px 6px 0 0; }
.plugin > div { padding: 6px 10px; }
h4 { margin: 8px 0 3px; font-size: 12px; color: #3b4355; text-transform: uppercase; letter-spacing: .03em; }
table.hdrs { font-family: ui-monospace, monospace; font-size: 12px; }
table.hdrs td { padding: 1px 6px; border: 0; white-space: pre-wrap; word-break: break-all; }
table.hdrs td.k { color: #5b3a9c; width: 1%; white-space: nowrap; }
tr.add td { background: #e6f6ea; } tr.add td.m::before { content: "+"; color: #1f7a3f; }
tr.del td { background: #fdeceb; text-decoration: line-through; color: #8a2a2a; } tr.del td.m::before { content: "−"; }
tr.chg td { background: #fff6df; } tr.chg td.m::before { content: "~"; color: #8a5300; }
td.m { width: 1em; }
.was { color: #8a2a2a; text-decoration: line-through; margin-right: 6px; }
.note { color: #5b6376; font-style: italic; }
.box { border-left: 3px solid #e0a030; background: #fffaf0; padding: 4px 8px; margin: 6px 0; }
.box.fail { border-color: #c0392b; background: #fdf1f0; }
.box.callout { border-color: #3b6fd0; background: #f3f7fe; }
pre { margin: 3px 0; padding: 4px 6px; background: #f5f6f8; border-radius: 4px; white-space: pre-wrap; word-break: break-all; font-size: 12px; max-height: 220px; overflow: auto; }
ul.logs { margin: 2px 0; padding-left: 18px; font-family: ui-monospace, monospace; font-size: 12px; }
.lvl { font-weight: 600; margin-right: 4px; }
ol.timeline { padding-left: 22px; font-size: 12px; color: #3b4355; }
ol.timeline .t { color: #7a8294; font-family: ui-monospace, monospace; margin-right: 6px; }
`;

export const INSPECTOR_JS = `"use strict";
(function () {
  var exchanges = new Map();
  var pluginNames = [];
  var selected = null;
  var globalEvents = [];
  var $ = function (id) { return document.getElementById(id); };
  var filters = { path: $("f-path"), status: $("f-status"), plugin: $("f-plugin") };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) { for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]); return parent; }
  function pluginName(x, at) { return at >= 0 && at < x.plugins.length ? x.plugins[at] : at < 0 ? "client" : "upstream"; }
  function statusClass(s) { return s ? "code s" + String(s).charAt(0) : "code"; }
  function time(ms) { var d = new Date(ms); return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0"); }

  // What each filter did, from the exchange's events.
  function summary(x) {
    var s = { replies: [], router: [], failures: 0, callouts: 0, logs: 0, acted: new Set() };
    x.events.forEach(function (e) {
      if (e.kind === "local_reply" && e.at >= x.plugins.length) s.router.push(e);
      else if (e.kind === "local_reply") { s.replies.push(e); s.acted.add(e.at); }
      else if (e.kind === "vm_failure") { s.failures++; if (e.at !== undefined) s.acted.add(e.at); }
      else if (e.kind === "callout") s.callouts++;
      else if (e.kind === "log") { s.logs++; if (e.at !== undefined) s.acted.add(e.at); }
    });
    for (var i = 0; i < x.plugins.length; i++) {
      if (changed(headersAt(x, "request", i - 1), headersAt(x, "request", i)) || changed(headersAt(x, "response", i + 1), headersAt(x, "response", i))) s.acted.add(i);
    }
    return s;
  }
  function headersAt(x, side, at) {
    var n = x.plugins.length;
    if (side === "response" && at === n) at = n;
    for (var i = 0; i < x.events.length; i++) { var e = x.events[i]; if (e.kind === "headers" && e.side === side && e.at === at) return e.headers; }
    return null;
  }
  function changed(a, b) { return !!a && !!b && JSON.stringify(a) !== JSON.stringify(b); }

  function matches(x) {
    var p = filters.path.value.trim();
    if (p && x.path.indexOf(p) < 0) return false;
    var st = filters.status.value.trim().toLowerCase();
    if (st) {
      var code = x.status ? String(x.status) : "";
      var ok = st.split(/[ ,]+/).some(function (f) { return f && (/^[1-5]xx$/.test(f) ? code.charAt(0) === f.charAt(0) : code === f); });
      if (!ok) return false;
    }
    var pl = filters.plugin.value;
    if (pl) {
      var i = x.plugins.indexOf(pl);
      if (i < 0 || !summary(x).acted.has(i)) return false;
    }
    return true;
  }

  function renderRows() {
    var tbody = $("rows");
    tbody.textContent = "";
    var list = Array.from(exchanges.values()).sort(function (a, b) { return b.id - a.id; });
    var shown = 0;
    list.forEach(function (x) {
      if (!matches(x)) return;
      shown++;
      var s = summary(x);
      var tr = el("tr", "row" + (x.done ? "" : " inflight") + (selected === x.id ? " sel" : ""));
      tr.dataset.id = x.id;
      tr.dataset.path = x.path;
      tr.dataset.status = x.status || "";
      var what = el("td");
      s.replies.forEach(function (r) {
        add(what, el("span", "badge reply", "local reply " + r.status + " · " + pluginName(x, r.at) + (r.details ? " (" + r.details + ")" : "")));
      });
      s.router.forEach(function (r) {
        add(what, el("span", "badge", r.details === "direct_response" ? "direct response" : "router reply " + r.status + (r.details ? " (" + r.details + ")" : "")));
      });
      if (s.failures) add(what, el("span", "badge fail", "VM failure"));
      if (s.callouts) add(what, el("span", "badge callout", s.callouts + " callout" + (s.callouts > 1 ? "s" : "")));
      if (s.logs) add(what, el("span", "badge log", s.logs + " log line" + (s.logs > 1 ? "s" : "")));
      if (!x.done) add(what, el("span", "badge", "in flight"));
      add(tr, el("td", "", x.id), el("td", "", time(x.start)), el("td", "", x.method), el("td", "path", x.path),
        el("td", statusClass(x.status), x.status || ""), el("td", "", x.durationMs !== undefined ? x.durationMs.toFixed(1) : ""), what);
      tr.addEventListener("click", function () { selected = x.id; renderRows(); renderDetail(); });
      tbody.appendChild(tr);
    });
    $("empty").style.display = shown ? "none" : "";
    $("empty").textContent = exchanges.size ? "No request matches the filters." : "Requests sent through the dev proxy appear here as they arrive.";
  }

  function headerTable(before, after) {
    var t = el("table", "hdrs");
    var prev = new Map();
    (before || []).forEach(function (p) { prev.set(p[0], (prev.get(p[0]) || []).concat([p[1]])); });
    var seen = new Map();
    (after || []).forEach(function (p) {
      var k = p[0], v = p[1];
      var n = seen.get(k) || 0; seen.set(k, n + 1);
      var olds = prev.get(k);
      var cls = !before ? "" : !olds || n >= olds.length ? "add" : olds[n] !== v ? "chg" : "";
      var vtd = el("td");
      if (cls === "chg") add(vtd, el("span", "was", olds[n]));
      add(vtd, document.createTextNode(v));
      add(t, add(el("tr", cls), el("td", "m"), el("td", "k", k), vtd));
    });
    if (before) prev.forEach(function (vals, k) {
      var n = seen.get(k) || 0;
      for (var i = n; i < vals.length; i++) add(t, add(el("tr", "del"), el("td", "m"), el("td", "k", k), el("td", "", vals[i])));
    });
    return t;
  }

  function bodies(x, side, at) {
    var size = 0, text = "", truncated = false, any = false;
    x.events.forEach(function (e) { if (e.kind === "body" && e.side === side && e.at === at) { any = true; size += e.size; text += e.text; truncated = truncated || e.truncated; } });
    return any ? { size: size, text: text, truncated: truncated } : null;
  }

  function bodyView(label, b) {
    if (!b || (!b.size && !b.text)) return null;
    var d = el("div");
    add(d, el("h4", "", label + " (" + b.size + " bytes" + (b.truncated ? ", shown in part" : "") + ")"));
    if (b.text) add(d, el("pre", "", b.text));
    return d;
  }

  function side(x, name, side, i, inAt, outAt) {
    var before = headersAt(x, side, inAt), after = headersAt(x, side, outAt);
    var d = el("div");
    add(d, el("h4", "", name + (before && after ? (changed(before, after) ? " — changed by this plugin" : " — passed on unchanged") : "")));
    if (after) add(d, headerTable(before, after));
    else if (before) { add(d, el("p", "note", "not passed on by this plugin (stopped, replied or failed); what it received:")); add(d, headerTable(null, before)); }
    else add(d, el("p", "note", "never reached this plugin"));
    add(d, bodyView(name + " body in", bodies(x, side, inAt)));
    var bout = bodies(x, side, outAt);
    if (bout && JSON.stringify(bout) !== JSON.stringify(bodies(x, side, inAt))) add(d, bodyView(name + " body out", bout));
    return d;
  }

  function eventText(x, e) {
    switch (e.kind) {
      case "headers": case "trailers": return e.side + " " + e.kind + (e.side === "request" ? (e.at < 0 ? " from the client" : " out of " + pluginName(x, e.at)) : (e.at === x.plugins.length ? " from the upstream" : " out of " + pluginName(x, e.at))) + (e.end ? " (end of stream)" : "");
      case "body": return e.side + " body " + e.size + " bytes " + (e.side === "request" ? (e.at < 0 ? "from the client" : "out of " + pluginName(x, e.at)) : (e.at === x.plugins.length ? "from the upstream" : "out of " + pluginName(x, e.at))) + (e.end ? " (end)" : "");
      case "local_reply": return "local reply " + e.status + " from " + (e.at === x.plugins.length ? "the router" : pluginName(x, e.at)) + (e.details ? " (" + e.details + ")" : "");
      case "callout": return "callout #" + e.id + " to cluster " + e.cluster;
      case "callout_answer": return "callout #" + e.id + " answered " + (e.reset ? "with a reset (" + e.reset + ")" : headerValue(e.headers, ":status")) + " in " + e.ms + " ms";
      case "log": return "[" + e.level + "] " + (e.at !== undefined ? pluginName(x, e.at) + ": " : "") + e.message;
      case "metric": return e.type + " " + e.name + ": " + e.before + " → " + e.after;
      case "vm_failure": return "VM failure: " + e.message;
      case "reload": return "reload: " + (e.at !== undefined ? pluginName(x, e.at) + " " : "") + e.message;
      case "reset": return "stream reset (" + e.details + ")";
    }
    return e.kind;
  }
  function headerValue(h, k) { if (!h) return ""; for (var i = 0; i < h.length; i++) if (h[i][0] === k) return h[i][1]; return ""; }

  function renderDetail() {
    var root = $("detail");
    root.textContent = "";
    var x = exchanges.get(selected);
    if (!x) { add(root, el("p", "hint", "Select a request to see it go through each plugin.")); return; }
    var s = summary(x);
    add(root, el("h2", "title", x.method + " " + x.path + (x.status ? " → " + x.status : " (in flight)")));
    add(root, el("div", "sub", (x.authority ? x.authority + " · " : "") + time(x.start) + (x.durationMs !== undefined ? " · " + x.durationMs.toFixed(1) + " ms" : "") + (x.details ? " · " + x.details : "") + (x.truncated ? " · some events were left out (limit)" : "")));
    s.replies.concat(s.router).forEach(function (r) {
      var box = el("div", "box");
      add(box, el("strong", "", r.at >= x.plugins.length ? (r.details === "direct_response" ? "Direct response " + r.status + " from the router" : "Router reply " + r.status) : "Local reply " + r.status + " from plugin " + pluginName(x, r.at)), el("span", "", r.details ? " — " + r.details : ""));
      if (r.body) add(box, el("pre", "", r.body));
      add(root, box);
    });
    x.plugins.forEach(function (name, i) {
      var card = el("div", "plugin");
      add(card, el("h3", "", (i + 1) + " · " + name + (s.acted.has(i) ? "" : "  (did nothing visible)")));
      var body = el("div");
      add(body, side(x, "Request", "request", i, i - 1, i));
      add(body, side(x, "Response", "response", i, i + 1, i));
      var logs = x.events.filter(function (e) { return (e.kind === "log" || e.kind === "vm_failure") && e.at === i; });
      if (logs.length) {
        add(body, el("h4", "", "Log"));
        var ul = el("ul", "logs");
        logs.forEach(function (e) { add(ul, add(el("li", e.kind === "vm_failure" ? "fail" : ""), el("span", "lvl", e.kind === "vm_failure" ? "VM failure" : e.level), document.createTextNode(e.message))); });
        add(body, ul);
      }
      add(card, body);
      add(root, card);
    });
    var callouts = x.events.filter(function (e) { return e.kind === "callout"; });
    callouts.forEach(function (c) {
      var a = x.events.find(function (e) { return e.kind === "callout_answer" && e.id === c.id; });
      var box = el("div", "box callout");
      add(box, el("strong", "", "Callout #" + c.id + " to cluster " + c.cluster), el("div", "", headerValue(c.headers, ":method") + " " + headerValue(c.headers, ":path")));
      add(box, headerTable(null, c.headers));
      if (c.body) add(box, el("pre", "", c.body));
      if (!a) add(box, el("p", "note", "no answer yet"));
      else if (a.reset) add(box, el("p", "note", "reset: " + a.reset + " after " + a.ms + " ms"));
      else { add(box, el("h4", "", "Answer " + headerValue(a.headers, ":status") + " in " + a.ms + " ms")); add(box, headerTable(null, a.headers)); if (a.body) add(box, el("pre", "", a.body)); }
      add(root, box);
    });
    var metrics = x.events.filter(function (e) { return e.kind === "metric"; });
    if (metrics.length) {
      add(root, el("h4", "", "Metrics changed"));
      var t = el("table", "hdrs");
      metrics.forEach(function (m) { add(t, add(el("tr"), el("td", "k", m.name), el("td", "", m.type + " " + m.before + " → " + m.after))); });
      add(root, t);
    }
    var others = x.events.filter(function (e) { return (e.kind === "log" || e.kind === "vm_failure") && e.at === undefined; });
    if (others.length) {
      add(root, el("h4", "", "Other log lines"));
      var ul = el("ul", "logs");
      others.forEach(function (e) { add(ul, el("li", "", eventText(x, e))); });
      add(root, ul);
    }
    add(root, el("h4", "", "Timeline"));
    var ol = el("ol", "timeline");
    x.events.forEach(function (e) { add(ol, add(el("li"), el("span", "t", e.t.toFixed(3) + " ms"), document.createTextNode(eventText(x, e)))); });
    add(root, ol);
  }

  function renderGlobal() {
    var ul = $("global");
    ul.textContent = "";
    if (!globalEvents.length) { add(ul, el("li", "hint", "none (VM failures and reloads show here)")); return; }
    globalEvents.slice().reverse().forEach(function (e) {
      add(ul, el("li", e.kind === "vm_failure" ? "fail" : "", time(e.t) + "  " + (e.kind === "vm_failure" ? "VM failure: " : e.kind === "reload" ? "reload: " : "") + e.message));
    });
  }

  function setPlugins(names) {
    names.forEach(function (n) { if (pluginNames.indexOf(n) < 0) { pluginNames.push(n); var o = el("option", "", n); o.value = n; filters.plugin.appendChild(o); } });
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderRows(); if (selected !== null) renderDetail(); });
  }

  function upsert(x) {
    exchanges.set(x.id, x);
    setPlugins(x.plugins);
    if (exchanges.size > 500) exchanges.delete(Math.min.apply(null, Array.from(exchanges.keys())));
  }

  ["input", "change"].forEach(function (ev) { Object.keys(filters).forEach(function (k) { filters[k].addEventListener(ev, schedule); }); });
  $("clear").addEventListener("click", function () { exchanges.clear(); selected = null; renderRows(); renderDetail(); });

  var feed = new EventSource("/inspector/events");
  feed.addEventListener("open", function () { var s = $("status"); s.textContent = "live"; s.className = "status on"; });
  feed.addEventListener("error", function () { var s = $("status"); s.textContent = "disconnected, retrying…"; s.className = "status off"; });
  feed.addEventListener("snapshot", function (m) {
    var d = JSON.parse(m.data);
    setPlugins(d.plugins);
    d.exchanges.forEach(upsert);
    globalEvents = d.global;
    renderGlobal();
    schedule();
  });
  feed.addEventListener("exchange", function (m) { upsert(JSON.parse(m.data)); schedule(); });
  feed.addEventListener("global", function (m) { globalEvents.push(JSON.parse(m.data)); if (globalEvents.length > 100) globalEvents.shift(); renderGlobal(); });
  renderGlobal();
})();
`;
