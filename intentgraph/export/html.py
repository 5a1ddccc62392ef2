"""One self-contained HTML page with an interactive view of the graph (or a subtree and
what it depends on): Cytoscape.js, vendored from npm in ``vendor/``, is inlined, so the
page opens offline from the file and fetches nothing.

The page has the graph (pan, zoom, drag; subgoals laid out as a tree below their root,
dependencies as dashed arrows), a searchable list of the intents (one ``li.intent`` per
intent) and the fields of the selected one. When the graph is drawn the page sets
``data-rendered`` on ``<body>`` to the number of nodes Cytoscape holds.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import IO, Any

from intentgraph.export._style import EDGE_STYLES, STATUS_COLOURS
from intentgraph.models import Edge, Intent

__all__ = ["HtmlWriter", "vendored_script"]


def vendored_script() -> str:
    """Return the vendored Cytoscape.js."""
    return (resources.files("intentgraph.export") / "vendor" / "cytoscape.min.js").read_text(
        encoding="utf-8"
    )


def _safe_json(value: Any) -> str:
    # Inside <script>: "</" could close the element, "<!--" open a comment.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class HtmlWriter:
    def __init__(self, out: IO[str], *, title: str = "intentgraph") -> None:
        self._out = out
        self._title = title
        self._nodes: list[dict[str, Any]] = []
        self._edges: list[dict[str, Any]] = []

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None:
        for intent in batch:
            self._nodes.append(
                {
                    "id": intent.id,
                    "name": intent.name,
                    "status": intent.status.value,
                    "priority": intent.priority,
                    "goal": intent.goal,
                    "outside": outside,
                    "version": intent.version,
                    "updated_at": intent.updated_at.isoformat(),
                    "metadata": intent.metadata,
                    "worker": intent.lease.worker if intent.lease else None,
                    "reason": intent.reason,
                }
            )

    def edges(self, batch: list[Edge]) -> None:
        for edge in batch:
            self._edges.append(
                {"source": edge.source, "target": edge.target, "type": edge.type.value}
            )

    def end(self) -> None:
        data = {
            "nodes": self._nodes,
            "edges": self._edges,
            "statuses": {k: list(v) for k, v in STATUS_COLOURS.items()},
            "edgeStyles": {k.value: list(v) for k, v in EDGE_STYLES.items()},
        }
        page = (
            _PAGE.replace("__TITLE__", _escape(self._title))
            .replace("__COUNTS__", f"{len(self._nodes)} intents, {len(self._edges)} edges")
            .replace("__DATA__", _safe_json(data))
            .replace("__CYTOSCAPE__", vendored_script().replace("</script", "<\\/script"))
        )
        self._out.write(page)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__ · intentgraph</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
  body { margin: 0; display: grid; grid-template-columns: 1fr 340px;
         grid-template-rows: auto 1fr; height: 100vh; color: #222; }
  header { grid-column: 1 / 3; padding: 8px 14px; border-bottom: 1px solid #ddd;
           display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  header .counts { color: #666; font-size: 13px; }
  .legend { display: flex; gap: 6px; flex-wrap: wrap; font-size: 12px; }
  .badge { border: 1px solid; border-radius: 9px; padding: 0 7px; font-size: 12px; }
  #graph { min-height: 300px; }
  aside { border-left: 1px solid #ddd; display: flex; flex-direction: column; min-height: 0; }
  aside input { margin: 8px; padding: 5px 8px; font-size: 13px; }
  #intents { list-style: none; margin: 0; padding: 0 8px; overflow: auto; flex: 1; }
  li.intent { padding: 4px 6px; border-radius: 4px; cursor: pointer; font-size: 13px;
              display: flex; justify-content: space-between; gap: 6px; }
  li.intent:hover, li.intent.selected { background: #eef3ff; }
  li.intent.outside { font-style: italic; color: #666; }
  #details { border-top: 1px solid #ddd; padding: 8px 12px; font-size: 12px;
             max-height: 40%; overflow: auto; }
  #details dt { color: #666; } #details dd { margin: 0 0 4px 0; word-break: break-word; }
</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1><span class="counts">__COUNTS__</span>
  <span class="legend" id="legend"></span>
</header>
<div id="graph" role="img" aria-label="graph of intents"></div>
<aside>
  <input id="search" type="search" placeholder="Filter intents by name or id" aria-label="filter">
  <ul id="intents"></ul>
  <dl id="details"><dt>Select an intent</dt></dl>
</aside>
<script type="application/json" id="data">__DATA__</script>
<script>__CYTOSCAPE__</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var legend = document.getElementById("legend");
  Object.keys(data.statuses).forEach(function (s) {
    var span = document.createElement("span");
    span.className = "badge";
    span.textContent = s;
    span.style.background = data.statuses[s][0];
    span.style.borderColor = data.statuses[s][1];
    legend.appendChild(span);
  });
  var parents = {};
  data.edges.forEach(function (e) {
    if (e.type === "IS_SUBGOAL_OF") parents[e.source] = e.target;
  });
  var roots = data.nodes.filter(function (n) { return !parents[n.id] && !n.outside; })
                        .map(function (n) { return n.id; });
  var elements = data.nodes.map(function (n) {
    return { group: "nodes", data: { id: n.id, label: n.name, status: n.status,
                                     outside: n.outside ? 1 : 0 } };
  }).concat(data.edges.map(function (e, i) {
    return { group: "edges", data: { id: "e" + i, source: e.source, target: e.target,
                                     type: e.type } };
  }));
  var style = [
    { selector: "node", style: { "label": "data(label)", "shape": "round-rectangle",
      "text-valign": "center", "text-halign": "center", "text-wrap": "ellipsis",
      "text-max-width": 120, "font-size": 11, "width": 130, "height": 34,
      "border-width": 2 } },
    { selector: "node[outside = 1]", style: { "border-style": "dashed" } },
    { selector: "node:selected", style: { "border-width": 4, "overlay-opacity": 0.08 } },
    { selector: "edge", style: { "width": 1.5, "curve-style": "bezier",
      "target-arrow-shape": "triangle", "arrow-scale": 0.9 } }
  ];
  Object.keys(data.statuses).forEach(function (s) {
    style.push({ selector: 'node[status = "' + s + '"]', style: {
      "background-color": data.statuses[s][0], "border-color": data.statuses[s][1] } });
  });
  Object.keys(data.edgeStyles).forEach(function (t) {
    var st = data.edgeStyles[t];
    var s = { "line-style": st[0], "line-color": st[1], "target-arrow-color": st[1] };
    if (t !== "IS_SUBGOAL_OF") { s["label"] = st[2]; s["font-size"] = 9; s["color"] = st[1];
                                 s["text-background-color"] = "#fff";
                                 s["text-background-opacity"] = 0.8; }
    if (t === "CONFLICTS_WITH" || t === "RELATED_TO") { s["target-arrow-shape"] = "none"; }
    style.push({ selector: 'edge[type = "' + t + '"]', style: s });
  });
  var cy = cytoscape({
    container: document.getElementById("graph"),
    elements: elements,
    style: style,
    layout: { name: "breadthfirst", directed: false, roots: roots.length ? roots : undefined,
              spacingFactor: 1.1, padding: 20, animate: false }
  });
  var list = document.getElementById("intents");
  var items = {};
  data.nodes.forEach(function (n) {
    var li = document.createElement("li");
    li.className = "intent" + (n.outside ? " outside" : "");
    li.dataset.id = n.id;
    var name = document.createElement("span");
    name.textContent = n.name;
    var badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = n.status;
    badge.style.background = data.statuses[n.status][0];
    badge.style.borderColor = data.statuses[n.status][1];
    li.appendChild(name);
    li.appendChild(badge);
    li.addEventListener("click", function () { select(n.id, true); });
    list.appendChild(li);
    items[n.id] = li;
  });
  var details = document.getElementById("details");
  function field(term, value) {
    var dt = document.createElement("dt"); dt.textContent = term;
    var dd = document.createElement("dd"); dd.textContent = value;
    details.appendChild(dt); details.appendChild(dd);
  }
  function select(id, centre) {
    var n = byId[id];
    Object.keys(items).forEach(function (k) { items[k].classList.toggle("selected", k === id); });
    cy.elements().unselect();
    var node = cy.getElementById(id);
    node.select();
    if (centre) cy.animate({ center: { eles: node }, duration: 200 });
    details.textContent = "";
    field("name", n.name); field("id", n.id); field("status", n.status);
    field("priority", String(n.priority));
    if (n.goal) field("goal", n.goal);
    if (parents[id]) field("subgoal of", (byId[parents[id]] || {name: parents[id]}).name);
    if (n.worker) field("claimed by", n.worker);
    if (n.reason) field("reason", n.reason);
    if (n.outside) field("outside the subtree", "a dependency of it");
    if (Object.keys(n.metadata).length) field("metadata", JSON.stringify(n.metadata));
    field("version", n.version + ", updated " + n.updated_at);
  }
  cy.on("tap", "node", function (evt) { select(evt.target.id(), false);
    items[evt.target.id()].scrollIntoView({ block: "nearest" }); });
  document.getElementById("search").addEventListener("input", function (evt) {
    var q = evt.target.value.toLowerCase();
    data.nodes.forEach(function (n) {
      var hit = !q || n.name.toLowerCase().indexOf(q) >= 0 || n.id.toLowerCase().indexOf(q) >= 0;
      items[n.id].style.display = hit ? "" : "none";
      cy.getElementById(n.id).style("opacity", hit ? 1 : 0.25);
    });
  });
  document.body.dataset.rendered = String(cy.nodes().length);
})();
</script>
</body>
</html>
"""
