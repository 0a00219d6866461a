// The session and the admin JSON API: the only source of what the pages show. The CSRF token
// lives in this module's memory only (never in storage or a URL); the session id is an HttpOnly
// cookie this code cannot read.
let csrf = "";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-Steward-CSRF"] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(res.status, err.code || "", err.message || `HTTP ${res.status}`);
  }
  return data;
}

// The signed-in session ({role, csrf}) or null.
export async function currentSession() {
  try {
    const s = await call("GET", "/ui/api/session");
    csrf = s.csrf;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function signIn(token) {
  const s = await call("POST", "/ui/api/session", { token });
  csrf = s.csrf;
  return s;
}

export async function signOut() {
  try {
    await call("DELETE", "/ui/api/session");
  } finally {
    csrf = "";
  }
}

const seg = encodeURIComponent;

export const api = {
  fleet: () => call("GET", "/v1/admin/fleet"),
  rollouts: () => call("GET", "/v1/admin/rollouts"),
  releases: () => call("GET", "/v1/admin/releases"),
  nodes: (query) => call("GET", "/v1/admin/nodes?" + new URLSearchParams(query)),
  node: (id) => call("GET", "/v1/admin/nodes/" + seg(id)),
  changeRollout: (component, channel, change) =>
    call("PUT", `/v1/admin/rollouts/${seg(component)}/${seg(channel)}`, change),
};
