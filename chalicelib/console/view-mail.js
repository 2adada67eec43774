// Mail (local stages only): the emails the local AWS endpoint holds (GET /_local/mail, served
// by `make run`, never by the app). The tab appears only when that route answers 200.
//
// An email's HTML body is shown in a sandboxed frame of its own document (mail-frame.html,
// with its own Content-Security-Policy that lets the email's inline styles apply and runs no
// script from it): a srcdoc frame would inherit this page's policy, which refuses the inline
// styles every email has. The frame has an opaque origin, so nothing in it can reach this page.

import { api, describe } from "./api.js";
import { h, byId, fill, table, fields, when, busy, linkified, externalLink, announcer } from "./dom.js";

const say = announcer("mail"); // this view's messages, while it is open

const MAIL = "_local/mail";
let messages = []; // the last list read: a message's view is found in it

/** Show the Mail tab if this stage serves the local mail route (404 in AWS). */
export async function detect() {
  try {
    messages = (await api(MAIL)).items;
    byId("nav-mail").hidden = false;
  } catch {
    byId("nav-mail").hidden = true; // not a local stage: no mail to show, nothing to report
  }
}

function recipients(message) {
  return (message.to ?? []).join(", ");
}

const COLUMNS = [
  { label: "Sent", value: (m) => when(m.sent_at) },
  { label: "To", value: recipients },
  { label: "Subject", value: (m) => h("a", { href: `#mail/${encodeURIComponent(m.id)}` }, m.subject || "(no subject)") },
  { label: "Attachments", value: (m) => (m.attachments?.length ? String(m.attachments.length) : null) },
];

async function load(speak = say.here()) {
  speak("Loading the mail…");
  try {
    messages = (await api(MAIL)).items;
    fill(byId("mail-list"), table(COLUMNS, messages, {
      empty: "No email yet.",
      rowAttributes: (m) => ({ "data-mail-id": m.id }),
    }));
    speak(`${messages.length} email${messages.length === 1 ? "" : "s"}.`);
  } catch (error) {
    speak(describe(error), "error");
  }
}

function attachmentLink(message, attachment) {
  const path = `${MAIL}/${encodeURIComponent(message.id)}/attachments/${encodeURIComponent(attachment.index)}`;
  const size = `${Math.ceil(attachment.size / 1024)} KB`;
  return h("li", {}, externalLink(path, attachment.filename || `attachment ${attachment.index}`),
    ` (${attachment.content_type}, ${size})`);
}

/** A fresh sandboxed frame showing `html`: scripts run only mail-frame.js, in an opaque origin. */
function htmlFrame(html) {
  const frame = h("iframe", {
    class: "mail-frame",
    title: "The email's HTML body",
    sandbox: "allow-scripts allow-popups allow-popups-to-escape-sandbox",
    src: "console/mail-frame.html",
  });
  // The frame's origin is opaque ("null"), so "*" is the only target that reaches it; it
  // receives the email's HTML only, which this page shows as text below anyway.
  frame.addEventListener("load", () => frame.contentWindow.postMessage(html, "*"), { once: true });
  return frame;
}

async function showMessage(id) {
  const at = location.hash;
  const speak = say.here();
  if (!messages.some((m) => m.id === id)) await load(speak);
  if (location.hash !== at) return; // left while the list loaded: another page is on screen
  const message = messages.find((m) => m.id === id);
  if (!message) {
    fill(byId("mail-message-title"), "No such email");
    for (const part of ["mail-message-fields", "mail-message-attachments", "mail-message-text", "mail-message-html", "mail-message-source"]) fill(byId(part));
    speak("That email is no longer held by the local endpoint.", "error");
    return;
  }
  fill(byId("mail-message-title"), message.subject || "(no subject)");
  fill(byId("mail-message-fields"), fields([
    ["Sent", when(message.sent_at)],
    ["From", message.from],
    ["To", recipients(message)],
  ]));
  const attachments = message.attachments ?? [];
  fill(byId("mail-message-attachments"), attachments.length
    ? attachments.map((a) => attachmentLink(message, a))
    : h("li", {}, "None."));
  fill(byId("mail-message-text"), message.text ? linkified(message.text) : "(no text body)");
  fill(byId("mail-message-html"), message.html ? htmlFrame(message.html) : h("p", {}, "(no HTML body)"));
  fill(byId("mail-message-source"), message.html ?? "");
  speak("Email loaded.");
}

export function setUp() {
  const refresh = byId("mail-refresh");
  refresh.addEventListener("click", () => busy(refresh, () => load()));
}

export function open(id) {
  if (id) {
    showMessage(id);
    return "view-mail-message";
  }
  load();
  return "view-mail";
}
