// Reports: one user's report emails (GET /admin/reports?user=, paged), each with a link that
// opens its PDF (a presigned URL, valid 15 minutes) in a new tab.

import { api, describe } from "./api.js";
import { h, byId, fill, table, count, when, formValues, busy, externalLink, announcer } from "./dom.js";

const say = announcer("reports"); // this view's messages, while it is open

let user = "";
let cursor = null;

const COLUMNS = [
  { label: "Created", value: (r) => when(r.created_at) },
  { label: "Sent", value: (r) => when(r.sent_at) },
  { label: "Status", value: (r) => h("span", { class: `badge ${r.status}` }, r.status) },
  { label: "Rows ok", value: (r) => count(r.success_count) },
  { label: "Rows failed", value: (r) => count(r.failure_count) },
  { label: "Report", value: (r) => h("code", {}, r.report_id) },
  { label: "PDF", value: (r) => (r.download_url ? externalLink(r.download_url, "Open the PDF") : null) },
];

async function load(more) {
  say(more ? "Loading the next page…" : "Loading the reports…");
  try {
    const page = await api("admin/reports", { query: { user, cursor: more ? cursor : null } });
    cursor = page.next_cursor;
    byId("reports-next").hidden = !cursor;
    const owner = page.items[0]?.email ?? user;
    const shown = table(COLUMNS, page.items, {
      empty: "This user has no reports.",
      caption: more ? "Next page" : `Reports of ${owner}, newest first`,
      rowAttributes: (r) => ({ "data-report-id": r.report_id }),
    });
    if (more) byId("reports-results").append(shown);
    else fill(byId("reports-results"), shown);
    say(`${page.items.length} report${page.items.length === 1 ? "" : "s"} shown. PDF links are valid for 15 minutes.`);
  } catch (error) {
    say(describe(error), "error");
  }
}

export function setUp() {
  const form = byId("reports-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    user = formValues(form).user ?? "";
    busy(form.querySelector("button[type=submit]"), () => load(false));
  });
  const next = byId("reports-next");
  next.addEventListener("click", () => busy(next, () => load(true)));
}

export function open() {
  return "view-reports";
}
