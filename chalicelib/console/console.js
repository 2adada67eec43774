// The console's entry point: sign-in, sign-out and the hash router.
//
// Views are hash routes (#overview, #jobs, #jobs/<id>, #dead-letters, #reports, #schedules,
// #mail, #mail/<id>), so the nav is a list of real links and the back button works. Each view
// module exports `open(argument)`: it starts loading its data and returns the id of the
// <section> to show. Only an admin (GET /users/me says role "admin") gets past the sign-in.

import { api, session, whenUnauthorized, describe, SESSION_ENDED } from "./api.js";
import { byId, say, busy, viewOf } from "./dom.js";
import * as overview from "./view-overview.js";
import * as jobs from "./view-jobs.js";
import * as deadLetters from "./view-dead-letters.js";
import * as reports from "./view-reports.js";
import * as schedules from "./view-schedules.js";
import * as mail from "./view-mail.js";

const VIEWS = {
  overview,
  jobs,
  "dead-letters": deadLetters,
  reports,
  schedules,
  mail,
};
const DEFAULT_VIEW = "overview"; // what an empty hash opens (dom.js viewOf)

let me = null; // GET /users/me of the signed-in user, once read

function showSection(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
  // Move focus to the new view's heading, so keyboard and screen-reader users land on it.
  byId(id).querySelector("h1")?.focus();
}

function showChrome(signedIn, admin) {
  byId("nav").hidden = !admin;
  byId("account").hidden = !signedIn;
  byId("account-email").textContent = me ? me.email : "";
}

function markCurrent(name) {
  for (const link of byId("nav").querySelectorAll("a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (!session.token()) {
    showChrome(false, false);
    showSection("view-sign-in");
    return;
  }
  if (!me) {
    try {
      me = await api("users/me");
    } catch (error) {
      if (error.status !== 401) say(describe(error), "error");
      return; // a 401 has signed out already
    }
    if (me.role === "admin") mail.detect();
  }
  if (me.role !== "admin") {
    showChrome(true, false);
    byId("refused-email").textContent = me.email;
    showSection("view-refused");
    return;
  }
  showChrome(true, true);
  const view = viewOf(location.hash);
  if (!Object.hasOwn(VIEWS, view)) {
    location.replace(`#${DEFAULT_VIEW}`); // an unknown view: the default one (hashchange)
    return;
  }
  const argument = decodeURIComponent(location.hash.slice(1)).split("/").slice(1).join("/");
  markCurrent(view);
  say(""); // the previous view's last message is not this one's
  showSection(VIEWS[view].open(argument));
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const credentials = { email: form.email.value.trim(), password: form.password.value };
  await busy(form.querySelector("button"), async () => {
    try {
      say("Signing in…");
      const answer = await api("auth/login", { method: "POST", body: credentials, auth: false });
      session.keep(answer.access_token);
      form.reset();
      me = null;
      say("Signed in.");
      await route();
    } catch (error) {
      say(error.status === 401 ? "Wrong email or password." : describe(error), "error");
    }
  });
}

function signOut() {
  session.clear();
  // A fresh page: no view keeps the previous admin's data in memory or on screen.
  history.replaceState(null, "", location.pathname + location.search);
  location.reload();
}

function expired() {
  session.clear();
  me = null;
  showChrome(false, false);
  showSection("view-sign-in");
  say(SESSION_ENDED, "error");
}

// The skip link moves focus to the open view's heading (or <main>) without touching the hash:
// "#main" is no view, and following it would make the router open the default one.
function skipToContent(event) {
  event.preventDefault();
  const section = document.querySelector("main > section:not([hidden])");
  (section?.querySelector("h1") ?? byId("main")).focus();
}

function start() {
  whenUnauthorized(expired);
  document.querySelector("a.skip").addEventListener("click", skipToContent);
  byId("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", signOut);
  for (const view of Object.values(VIEWS)) view.setUp();
  window.addEventListener("hashchange", route);
  route();
}

start();
