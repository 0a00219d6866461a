// Nodes: one page of the fleet at a time (the controller pages and filters, so this stays fast
// at any size), filters kept in the address so a view can be shared; each row opens the node.
import { api } from "./api.js";
import { ago, el, freshness, table, fill } from "./dom.js";

const PAGE = 50;
const FILTERS = ["hostname", "component", "channel", "version", "state", "checkin"];
// The controller's check-in interval (for late and silent), asked once: the fleet view that
// carries it counts the whole fleet.
let interval = 0;

function filterForm(query) {
  const input = (name) =>
    el("label", {}, name, " ", el("input", { name, value: query.get(name) || "", size: 12 }));
  const checkin = el("select", { name: "checkin" },
    ["", "ok", "late", "silent"].map((v) =>
      el("option", { value: v, selected: (query.get("checkin") || "") === v }, v || "any")));
  return el("form", {
    id: "node-filters",
    onsubmit: (ev) => {
      ev.preventDefault();
      const next = new URLSearchParams();
      for (const [k, v] of new FormData(ev.target)) if (v) next.set(k, String(v));
      location.hash = `#/nodes?${next}`;
    },
  }, FILTERS.slice(0, 5).map(input), el("label", {}, "check-in ", checkin),
  " ", el("button", { type: "submit" }, "Filter"));
}

export async function render(page, ctx) {
  const query = ctx.params;
  const ask = { limit: PAGE };
  for (const k of [...FILTERS, "after"]) if (query.get(k)) ask[k] = query.get(k);
  if (!interval) interval = (await api.fleet()).checkin_interval_s;
  const res = await api.nodes(ask);
  const rows = res.nodes.map((n) =>
    el("tr", { "data-node": n.id },
      el("td", {}, el("a", { href: `#/node/${encodeURIComponent(n.id)}` }, n.hostname)),
      el("td", { class: "id" }, n.id),
      el("td", {}, n.components.map((c) =>
        el("div", {}, `${c.name} ${c.running_version || "—"} (${c.channel}, ${c.state || "unknown"})`))),
      el("td", {}, ago(n.last_seen), " ",
        el("span", { class: `fresh-${freshness(n.last_seen, interval)}` },
          freshness(n.last_seen, interval)))));
  const base = new URLSearchParams(query);
  base.delete("after");
  const next = new URLSearchParams(base);
  if (res.next) next.set("after", res.next);
  fill(page,
    el("h2", {}, "Nodes"),
    filterForm(query),
    rows.length ? table(["Host", "Id", "Components", "Last check-in"], rows, { id: "nodes" })
                : el("p", {}, "No node matches."),
    el("nav", { class: "pager", "aria-label": "Pages of nodes" },
      query.get("after") ? el("a", { href: `#/nodes?${base}` }, "First page") : null,
      " ",
      res.next ? el("a", { href: `#/nodes?${next}`, id: "next-page" }, "Next page") : null),
  );
}
