// Fleet: per component and channel, nodes per running version as a bar, states, and the late or
// silent nodes apart from failures (a late node may be healthy and cut off).
import { api } from "./api.js";
import { el, table, fill } from "./dom.js";
import { rolloutStatus } from "./rollouts.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function bar(versions) {
  const entries = Object.entries(versions);
  const label = entries.map(([v, n]) => `${v}: ${plural(n, "node")}`).join(", ");
  return el(
    "div",
    { class: "bar", role: "img", "aria-label": `Versions: ${label}` },
    entries.map(([v, n], i) => {
      const seg = el("div", { class: `seg seg${i % 6}`, "data-version": v, title: `${v}: ${n}` },
        `${v} (${n})`);
      seg.style.flexGrow = String(n);
      return seg;
    }),
  );
}

function rolloutLine(r) {
  if (!r) return null;
  return el("p", { class: "rollout" },
    el("a", { href: "#/rollouts" }, `Rollout to ${r.version} at ${r.percent} %`), ": ",
    rolloutStatus(r));
}

function group(g, rollout) {
  const key = `${g.component}/${g.channel}`;
  const filter = new URLSearchParams({ component: g.component, channel: g.channel });
  const link = (checkin, n) =>
    el("a", { href: `#/nodes?${filter}&checkin=${checkin}`, "data-checkin": checkin }, plural(n, "node"));
  return el(
    "section",
    { class: "group", "data-group": key },
    el("h3", {}, `${g.component} on ${g.channel}`, el("small", {}, ` · ${plural(g.nodes, "node")}`)),
    rolloutLine(rollout),
    bar(g.versions),
    el("div", { class: "columns" },
      table(["Version", "Nodes"],
        Object.entries(g.versions).map(([v, n]) =>
          el("tr", { "data-version": v },
            el("td", {}, el("a", { href: `#/nodes?${filter}&version=${encodeURIComponent(v)}` }, v)),
            el("td", { class: "num", "data-count": n }, n))),
        { class: "versions" }),
      table(["State", "Nodes"],
        Object.entries(g.states).map(([s, n]) =>
          el("tr", { "data-state": s, class: `state-${s}` },
            el("td", {}, s.replaceAll("_", " ")),
            el("td", { class: "num", "data-count": n }, n))),
        { class: "states" })),
    el("p", { class: "checkins" },
      "Not checking in: late ", link("late", g.late), ", silent ", link("silent", g.silent), "."),
  );
}

export async function render(page) {
  const f = await api.fleet();
  const c = f.checkins;
  fill(page,
    el("h2", {}, "Fleet"),
    el("p", { id: "fleet-summary" },
      el("span", { "data-count": f.nodes, id: "fleet-nodes" }, plural(f.nodes, "node")),
      ` enrolled · checking in: ${c.ok} · late: ${c.late} · silent: ${c.silent}`),
    f.groups.length
      ? f.groups.map((g) => group(g, f.rollouts.find(
          (r) => r.component === g.component && r.channel === g.channel)))
      : el("p", {}, "No node has reported a component yet."),
  );
}
