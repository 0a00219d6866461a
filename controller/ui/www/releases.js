// Releases: the published versions per component and channel, newest first, with their
// signature count and expiry; one that expires within a week is flagged in words, since an
// expired release blocks updates (never the running node).
import { api } from "./api.js";
import { el, fill, table } from "./dom.js";

const WARN_DAYS = 7;

function expiry(rfc3339) {
  const days = (Date.parse(rfc3339) - Date.now()) / 86400000;
  if (days < 0) return el("span", { class: "expired" }, `EXPIRED on ${rfc3339}: nodes will not install it`);
  const text = days < 2 ? `in ${Math.round(days * 24)} h` : `in ${Math.floor(days)} days`;
  return days < WARN_DAYS
    ? el("span", { class: "expiring" }, `expires ${text}: publish a newly signed release`)
    : el("span", {}, `expires ${text}`);
}

export async function render(page) {
  const { releases } = await api.releases();
  releases.sort((a, b) =>
    a.component.localeCompare(b.component) || a.channel.localeCompare(b.channel) ||
    b.sequence - a.sequence);
  fill(page,
    el("h2", {}, "Releases"),
    releases.length
      ? table(["Component", "Channel", "Version", "Sequence", "Signatures", "Published", "Expiry"],
          releases.map((r) => el("tr", { "data-release": `${r.component}/${r.channel}/${r.version}` },
            el("td", {}, r.component), el("td", {}, r.channel), el("td", {}, r.version),
            el("td", { class: "num" }, r.sequence),
            el("td", { class: "num" }, r.signatures),
            el("td", {}, r.published_at),
            el("td", { class: "expiry" }, expiry(r.expires)))),
          { id: "releases" })
      : el("p", {}, "No release published yet (stewardctl release publish)."));
}
