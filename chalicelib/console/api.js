// Calls to the books-api with the signed-in admin's bearer token.
//
// The token lives in sessionStorage only: never in a URL, a cookie or a log line. Paths are
// relative ("admin/jobs"), so they resolve beside the page wherever it is served
// (/console -> /admin/jobs; /api/console -> /api/admin/jobs in AWS).

const TOKEN_KEY = "books-api-console-token";

/** An answer other than 2xx: `status`, the API's `code` ("forbidden"...) and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  keep: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** What the page says once the token is refused (expired, or its user gone). */
export const SESSION_ENDED = "Your session has ended: sign in again.";

// Called on every 401: the token expired or its user is gone (console.js signs out).
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

/** `path` with the non-empty values of `query` as its query string. */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Call the API: `await api("admin/jobs", {query: {status: "failed"}})`.
 * Options: method (GET), query (object), body (sent as JSON), auth (true: send the token).
 * Resolves to the parsed JSON answer (null for 204); rejects with an ApiError.
 */
export async function api(path, { method = "GET", query, body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch {
    throw new ApiError(0, "network_error", "The API could not be reached.");
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => null);
  if (response.ok) return answer;
  if (response.status === 401 && auth) {
    onUnauthorized();
    // The view that made the call shows this error too: say what the sign-in view says, not
    // the API's "the access token is invalid".
    throw new ApiError(401, answer?.error ?? "unauthorized", SESSION_ENDED);
  }
  throw errorOf(response, answer);
}

function errorOf(response, answer) {
  const code = answer?.error ?? "http_error";
  let message = answer?.message ?? `The API answered ${response.status}.`;
  const wait = response.headers.get("Retry-After");
  if (response.status === 429 && wait) message += ` Try again in ${wait} s.`;
  return new ApiError(response.status, code, message, answer?.details);
}

/** The message to show for a failed call: the API's own, with its field details. */
export function describe(error) {
  if (!(error instanceof ApiError)) return `Unexpected error: ${error}`;
  const details = error.details && typeof error.details === "object"
    ? Object.entries(error.details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    : [];
  return [error.message, ...details].join(" — ");
}
