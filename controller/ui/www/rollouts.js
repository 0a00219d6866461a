// Rollouts: target, percent, progress, paused or halted with the reason; pause, resume and set
// percent, each after a confirmation. A viewer sees the actions but the API refuses them.
import { api } from "./api.js";
import { confirmChange, el, table, fill } from "./dom.js";

// "Halted …" with the controller's reason in words, "Paused" or "Rolling out".
export function rolloutStatus(r) {
  if (r.halt_reason) {
    const why = r.halt_reason.startsWith("halted")
      ? r.halt_reason[0].toUpperCase() + r.halt_reason.slice(1)
      : `Halted: ${r.halt_reason}`;
    return el("span", { class: "halted" }, why);
  }
  return r.paused ? el("span", { class: "paused" }, "Paused") : el("span", {}, "Rolling out");
}

function actions(r, ctx) {
  const name = `${r.component} on ${r.channel}`;
  const change = async (text, body) => {
    if (!(await confirmChange(text))) return;
    try {
      await api.changeRollout(r.component, r.channel, body);
      ctx.show(`${name}: done.`);
    } catch (e) {
      ctx.show(`${name}: refused: ${e.message}`, true);
    }
    await ctx.refresh();
  };
  const percent = el("input", {
    type: "number", min: 0, max: 100, step: "any", value: r.percent,
    "aria-label": `Percent for ${name}`, class: "percent",
  });
  return el("td", { class: "actions" },
    r.paused
      ? el("button", { type: "button", class: "resume",
          onclick: () => change(`Resume the rollout of ${name} to ${r.version}?`, { paused: false }) }, "Resume")
      : el("button", { type: "button", class: "pause",
          onclick: () => change(`Pause the rollout of ${name} to ${r.version}?`, { paused: true }) }, "Pause"),
    " ", percent, " ",
    el("button", { type: "button", class: "set-percent",
      onclick: () => {
        const p = Number(percent.value);
        if (!(p >= 0 && p <= 100)) return ctx.show("Percent must be from 0 to 100.", true);
        return change(`Set the rollout of ${name} to ${p} %?`, { percent: p });
      } }, "Set percent"));
}

export async function render(page, ctx) {
  const { rollouts } = await api.rollouts();
  fill(page,
    el("h2", {}, "Rollouts"),
    ctx.role === "viewer" ? el("p", { class: "note" }, "Signed in as a viewer: changes are refused.") : null,
    rollouts.length
      ? table(["Component", "Channel", "Target", "Percent", "Progress", "Status", "Actions"],
          rollouts.map((r) => el("tr", { "data-rollout": `${r.component}/${r.channel}`,
              "data-paused": String(r.paused) },
            el("td", {}, r.component),
            el("td", {}, r.channel),
            el("td", {}, r.version, r.minimum ? ` (minimum ${r.minimum})` : ""),
            el("td", { class: "num" }, `${r.percent} %`),
            el("td", {},
              `${r.nodes_on_target} of ${r.nodes} on target, ${r.nodes_in_bucket} in the rollout; `,
              `${r.rolled_back} rolled back of ${r.update_attempts} attempts`),
            el("td", { class: "status" }, rolloutStatus(r)),
            actions(r, ctx))),
          { id: "rollouts" })
      : el("p", {}, "No rollouts yet (stewardctl rollout set)."),
  );
}
