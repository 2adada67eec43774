// DOM helpers. Data reaches the page only as text nodes and attribute values set one by one:
// nothing here (or anywhere in the console) parses a string as HTML, so a book title or an
// error message holding "<script>" is shown as those characters.

/**
 * An element: `h("a", {href: "#jobs", class: "x"}, "text", child)`.
 * Attributes are set with setAttribute (a null/undefined/false value is skipped; `true` sets
 * an empty one); `on` takes {event: handler}. Children: nodes, or anything else as text.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (value !== null && value !== undefined && value !== false) {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined).map(asNode));
  return element;
}

function asNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

/** Replace everything inside `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined).map(asNode));
  return element;
}

export const byId = (id) => document.getElementById(id);

/**
 * A table: `columns` is [{label, value: (row) => text or node, class}] (`class`: its cells'
 * class, "nowrap" for short words); one row per item of `rows`.
 * `empty` is shown instead when there are no rows; `rowAttributes(row)` gives each <tr>'s
 * attributes (a `data-` id that tests and scripts find it by).
 */
export function table(columns, rows, { empty = "Nothing to show.", caption, rowAttributes = () => ({}) } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)));
  const body = rows.map((row) => h("tr", rowAttributes(row), columns.map((c) => h("td", { class: c.class }, display(c.value(row))))));
  return h("div", { class: "table-wrap" },
    h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body)));
}

/** A definition list's children from [[term, value]] pairs. */
export function fields(pairs) {
  return pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, display(value))]);
}

/** A value as shown in a cell: a node as is, null/undefined as an em dash, the rest as text. */
export function display(value) {
  if (value instanceof Node) return value;
  if (value === null || value === undefined || value === "") return "—";
  return String(value);
}

/** An ISO-8601 time as "2026-11-30 18:07:01 UTC" in a <time> element (operators read UTC). */
export function when(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  return h("time", { datetime: iso }, `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`);
}

/** A whole number with thousands separators; null stays an em dash. */
export function count(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
}

/**
 * `url` if it is an absolute http(s) URL or a relative one, else null: data from the API never
 * becomes a javascript: or data: link.
 */
export function safeUrl(url) {
  try {
    const parsed = new URL(url, document.baseURI);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A link that opens in a new tab without giving it a handle on this page. */
export function externalLink(url, label) {
  const href = safeUrl(url);
  if (!href) return display(null);
  return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label);
}

/** Text with each http(s) URL in it made a link (a mail's text body: its verification link). */
export function linkified(text) {
  const parts = String(text).split(/(https?:\/\/[^\s<>"]+)/g);
  return parts.map((part, i) => (i % 2 ? externalLink(part, part) : part));
}

/** The values of a form's fields, trimmed; empty fields left out. */
export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (text) values[name] = text;
  }
  return values;
}

/** Run `action` with `button` disabled (no double submit), whatever the outcome. */
export async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

/** Announce `message` in the page's live region (role=status); `kind` "error" marks a failure. */
export function say(message, kind = "info") {
  const status = byId("status");
  status.className = `status ${kind}`;
  status.textContent = message;
}

/** The view a location hash names: "#jobs/01J..." is "jobs", an empty hash "overview". */
export function viewOf(hash) {
  return decodeURIComponent(hash.slice(1)).split("/")[0] || "overview";
}

/**
 * `say` for one view's messages: announced only while that view is open, so the late answer
 * of a view the user has left never overwrites the status of the one they are on.
 * `.here()` gives a `say` bound to the location of the moment (hash and all): a call that
 * outlives its page (#jobs's search answering once #jobs/<id> is open) says nothing.
 */
export function announcer(view) {
  const speak = (message, kind) => {
    if (viewOf(location.hash) === view) say(message, kind);
  };
  speak.here = () => {
    const at = location.hash;
    return (message, kind) => {
      if (location.hash === at) speak(message, kind);
    };
  };
  return speak;
}
