// Building the page from data: every text goes through textContent (createTextNode), never
// innerHTML, so nothing a node reports can become markup.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick" || k === "onsubmit" || k === "onchange") e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function table(headers, rows, attrs = {}) {
  return el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows),
  );
}

// "3 min ago" from an RFC 3339 time, or "never".
export function ago(rfc3339) {
  if (!rfc3339) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(rfc3339)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

// A node's check-in freshness, as the controller defines it (controller/fleet.hpp).
export function freshness(lastSeen, intervalS) {
  if (!lastSeen) return "silent";
  const missed = Math.floor((Date.now() - Date.parse(lastSeen)) / 1000 / Math.max(intervalS, 1));
  return missed >= 30 ? "silent" : missed >= 3 ? "late" : "ok";
}

// Asks before a change; resolves true on Confirm. A <dialog>: keyboard and screen-reader usable.
export function confirmChange(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// Replaces an element's content; children may be nested arrays, null or false.
export function fill(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
