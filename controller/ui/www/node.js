// Node: its components and versions, last exits, update history with results and error codes,
// its updater's version and when it last checked in.
import { api } from "./api.js";
import { ago, el, table, fill } from "./dom.js";

const dash = (v) => (v === undefined || v === null || v === "" ? "—" : String(v));

function lastExit(x) {
  if (!x || !x.kind) return "—";
  const parts = [x.kind];
  if (x.code !== undefined && x.code !== null) parts.push(`code ${x.code}`);
  if (x.signal) parts.push(`signal ${x.signal}`);
  if (x.at) parts.push(`at ${x.at}`);
  return parts.join(", ");
}

export async function render(page, ctx) {
  const n = await api.node(ctx.id);
  const report = n.report && typeof n.report === "object" ? n.report : {};
  const comps = Array.isArray(report.components) ? report.components : n.components;
  const host = report.host || {};
  const facts = [
    ["Id", n.id], ["Platform", n.platform], ["Machine id", n.machine_id],
    ["Updater version", report.updater && report.updater.version],
    ["Last check-in", n.last_seen ? `${n.last_seen} (${ago(n.last_seen)})` : "never"],
    ["Enrolled", n.enrolled_at],
    ["Host", [host.os, host.arch, host.kernel].filter(Boolean).join(" ")],
  ];
  fill(page,
    el("h2", {}, "Node ", el("span", { id: "node-hostname" }, n.hostname)),
    el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, dash(v))])),
    el("h3", {}, "Components"),
    table(["Name", "Channel", "Running", "Installed", "Previous", "State", "Restarts", "Last exit"],
      comps.map((c) => el("tr", { "data-component": c.name },
        el("td", {}, c.name), el("td", {}, dash(c.channel)),
        el("td", { class: "running" }, dash(c.running_version)),
        el("td", {}, dash(c.installed_version)), el("td", {}, dash(c.previous_version)),
        el("td", {}, dash(c.state), c.crash_loop ? " (crash loop)" : ""),
        el("td", { class: "num" }, dash(c.restarts)),
        el("td", {}, lastExit(c.last_exit)))),
      { id: "components" }),
    el("h3", {}, "Update history"),
    n.updates && n.updates.length
      ? table(["When", "Component", "From", "To", "Result", "Error code"],
          n.updates.map((u) => el("tr", {},
            el("td", {}, u.at), el("td", {}, u.component), el("td", {}, dash(u.from)),
            el("td", {}, u.to), el("td", { class: `result-${u.result}` }, u.result.replaceAll("_", " ")),
            el("td", {}, dash(u.error_code)))),
          { id: "updates" })
      : el("p", {}, "No update recorded for this node."),
  );
}
