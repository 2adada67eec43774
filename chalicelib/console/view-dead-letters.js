// Dead letters: the list (GET /admin/dlq); retry one (POST /admin/dlq/{id}/retry), retry all
// that match a filter (POST /admin/dlq/retry), discard one with a reason
// (DELETE /admin/dlq/{id}). The list is read again after each action.

import { api, describe } from "./api.js";
import { h, byId, fill, table, when, formValues, busy, announcer } from "./dom.js";

const say = announcer("dead-letters"); // this view's messages, while it is open

let discarding = null; // the entry id the discard dialog is about

async function load(message) {
  say("Loading the dead letters…");
  try {
    const answer = await api("admin/dlq");
    fill(byId("dead-letters-list"), table(COLUMNS, answer.items, {
      empty: "No dead letters.",
      rowAttributes: (entry) => ({ "data-entry-id": entry.entry_id }),
    }));
    // The filters' suggestions: the sources and kinds now in the list.
    for (const [list, key] of [["retry-sources", "source"], ["retry-kinds", "kind"]]) {
      const values = [...new Set(answer.items.map((entry) => entry[key]).filter(Boolean))].sort();
      fill(byId(list), values.map((value) => h("option", { value })));
    }
    say(message ?? `${answer.items.length} dead letter${answer.items.length === 1 ? "" : "s"}.`);
  } catch (error) {
    say(describe(error), "error");
  }
}

async function act(button, action, done) {
  await busy(button, async () => {
    try {
      const answer = await action();
      await load(done(answer));
    } catch (error) {
      say(describe(error), "error");
    }
  });
}

function retryOne(entry, button) {
  return act(button,
    () => api(`admin/dlq/${encodeURIComponent(entry.entry_id)}/retry`, { method: "POST" }),
    () => `Requeued ${entry.entry_id}.`);
}

function askDiscard(entry) {
  discarding = entry.entry_id;
  byId("discard-entry").textContent = entry.entry_id;
  byId("discard-reason").value = "";
  byId("discard-error").hidden = true;
  byId("discard-dialog").showModal();
}

function actions(entry) {
  const retry = h("button", { type: "button", "aria-label": `Retry ${entry.entry_id}` }, "Retry");
  retry.addEventListener("click", () => retryOne(entry, retry));
  const discard = h("button", { type: "button", "aria-label": `Discard ${entry.entry_id}` }, "Discard");
  discard.addEventListener("click", () => askDiscard(entry));
  return h("span", { class: "row-actions" }, retry, discard);
}

const COLUMNS = [
  { label: "Failed", value: (e) => when(e.failed_at) },
  { label: "Source", value: (e) => e.source },
  { label: "Kind", value: (e) => e.kind ?? (e.job_id ? `job ${e.job_id}` : null) },
  { label: "User", value: (e) => e.user_id },
  { label: "Attempts", value: (e) => e.attempts },
  { label: "Last error", value: (e) => e.last_error },
  { label: "Entry", value: (e) => h("code", {}, e.entry_id) },
  { label: "Actions", value: actions },
];

// The dialog closes once the API has taken the reason: a refusal (a 400 for the reason, a
// 409 for an entry that changed meanwhile) is shown in the dialog, with the text kept.
function discard(event) {
  event.preventDefault();
  const dialog = byId("discard-dialog");
  const problem = byId("discard-error");
  const reason = byId("discard-reason").value.trim();
  if (!reason) {
    problem.textContent = "Give a reason to discard it.";
    problem.hidden = false;
    return;
  }
  const entryId = discarding;
  busy(event.submitter ?? dialog.querySelector("button[type=submit]"), async () => {
    try {
      await api(`admin/dlq/${encodeURIComponent(entryId)}`, { method: "DELETE", body: { reason } });
    } catch (error) {
      if (error.status === 401) { dialog.close(); return; } // signed out: the sign-in view says so
      problem.textContent = describe(error);
      problem.hidden = false;
      return;
    }
    dialog.close();
    await load(`Discarded ${entryId}.`);
  });
}

function retryMatching(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const values = formValues(form);
  const body = values.all ? { all: true } : values;
  if (!Object.keys(body).length) {
    say("Give a source, a kind or an error text, or tick “Every dead letter”.", "error");
    return;
  }
  act(form.querySelector("button[type=submit]"),
    () => api("admin/dlq/retry", { method: "POST", body }),
    (answer) => `Requeued ${answer.requeued} dead letter${answer.requeued === 1 ? "" : "s"}.`
      + (answer.left ? ` ${answer.left} more match: retry again.` : ""));
}

export function setUp() {
  const refresh = byId("dead-letters-refresh");
  refresh.addEventListener("click", () => busy(refresh, () => load()));
  byId("discard-form").addEventListener("submit", discard);
  byId("discard-cancel").addEventListener("click", () => byId("discard-dialog").close());
  byId("retry-matching-form").addEventListener("submit", retryMatching);
}

export function open() {
  load();
  return "view-dead-letters";
}
