// The dashboard's entry point: sign-in, the page chosen by the address (#/fleet, #/rollouts,
// #/releases, #/nodes?…, #/node/<id>), refreshing the live pages every few seconds, sign-out.
import { ApiError, currentSession, signIn, signOut } from "./api.js";
import * as fleet from "./fleet.js";
import * as node from "./node.js";
import * as nodes from "./nodes.js";
import * as releases from "./releases.js";
import * as rollouts from "./rollouts.js";

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);
let session = null;
let timer = 0;
let rendering = Promise.resolve();

function show(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.className = isError ? "error" : "info";
  m.hidden = !text;
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  if (path.startsWith("node/")) {
    return { mod: node, live: true, id: decodeURIComponent(path.slice(5)), params, name: "node" };
  }
  if (path === "rollouts") return { mod: rollouts, live: true, params, name: "rollouts" };
  if (path === "releases") return { mod: releases, live: true, params, name: "releases" };
  if (path === "nodes") return { mod: nodes, live: false, params, name: "nodes" };
  return { mod: fleet, live: true, params, name: "fleet" };
}

function signedIn(s) {
  session = s;
  $("sign-in").hidden = !!s;
  $("nav").hidden = !s;
  $("who").hidden = !s;
  $("role").textContent = s ? `Signed in as ${s.role}` : "";
  if (!s) {
    $("page").replaceChildren();
    clearTimeout(timer);
  }
}

async function render(fromTimer = false) {
  clearTimeout(timer);
  if (!session) return;
  if (fromTimer && busy()) {
    timer = setTimeout(() => refresh(true), REFRESH_MS);
    return;
  }
  const r = route();
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${r.name}`);
  }
  const ctx = { role: session.role, params: r.params, id: r.id, show, refresh: () => refresh() };
  try {
    await r.mod.render($("page"), ctx);
    $("page").dataset.page = r.name;
    $("page").dataset.loaded = String(Date.now());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signedIn(null);
      show("Your session ended; sign in again.", true);
      return;
    }
    show(`Could not load: ${e.message}`, true);
  }
  if (r.live) timer = setTimeout(() => refresh(true), REFRESH_MS);
}

// While the operator types into the page or answers the confirmation, a refresh would throw
// the input away: it waits for the next turn.
function busy() {
  const active = document.activeElement;
  return $("confirm").open || (active && active.tagName === "INPUT" && $("page").contains(active));
}

// One render at a time: a refresh waits for the one in flight.
function refresh(fromTimer = false) {
  const next = () => render(fromTimer);
  rendering = rendering.then(next, next);
  return rendering;
}

$("sign-in").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  input.value = "";
  try {
    signedIn(await signIn(token));
    show("");
    await refresh();
  } catch (e) {
    show(e.status === 401 ? "That token is not valid." : `Sign-in failed: ${e.message}`, true);
  }
});

$("sign-out").addEventListener("click", async () => {
  try {
    await signOut();
  } catch (e) {
    // The session may already be gone; the page signs out either way.
  }
  signedIn(null);
  show("Signed out.");
});

window.addEventListener("hashchange", () => {
  show("");
  refresh();
});

(async () => {
  try {
    signedIn(await currentSession());
  } catch (e) {
    signedIn(null);
    show(`The controller did not answer: ${e.message}`, true);
  }
  refresh();
})();
