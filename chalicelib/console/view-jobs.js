// Jobs: search every user's bulk imports and exports (GET /admin/jobs, paged with its cursor),
// and one job's detail with its failed rows (GET /admin/jobs/{id}, #jobs/<id>).

import { api, describe } from "./api.js";
import { h, byId, fill, table, fields, count, when, formValues, busy, announcer } from "./dom.js";

const say = announcer("jobs"); // this view's messages, while it is open

let filters = {}; // the last search's filters: the next page must use the same
let cursor = null;
let searched = false;
let shownCount = 0; // jobs on screen: the pages read so far
let pageNumber = 1;

function jobLink(job) {
  return h("a", { href: `#jobs/${encodeURIComponent(job.job_id)}` }, job.job_id);
}

function rows(job) {
  if (job.type === "export") return job.record_count === null ? null : `${count(job.record_count)} books`;
  if (job.total_rows === null) return null;
  return `${count(job.success_count)} ok, ${count(job.failure_count)} failed of ${count(job.total_rows)}`;
}

const COLUMNS = [
  { label: "Job", value: jobLink },
  { label: "Type", value: (j) => j.type, class: "nowrap" },
  { label: "Status", value: (j) => h("span", { class: `badge ${j.status}` }, j.status) },
  { label: "User", value: (j) => j.email ?? j.user_id },
  { label: "Created", value: (j) => when(j.created_at) },
  { label: "Rows", value: rows },
  { label: "Error", value: (j) => j.error },
];

async function search(more) {
  const next = byId("jobs-next");
  const results = byId("jobs-results");
  const speak = say.here();
  speak(more ? "Loading the next page…" : "Searching…");
  try {
    const page = await api("admin/jobs", { query: { ...filters, cursor: more ? cursor : null } });
    cursor = page.next_cursor;
    next.hidden = !cursor;
    // Pages are appended under one another: the count announced is every job on screen.
    shownCount = (more ? shownCount : 0) + page.items.length;
    const shown = table(COLUMNS, page.items, {
      empty: "No job matches.",
      caption: more ? `Page ${++pageNumber}` : "Jobs, newest first",
    });
    if (more) results.append(shown);
    else {
      pageNumber = 1;
      fill(results, shown);
    }
    speak(`${shownCount} job${shownCount === 1 ? "" : "s"} shown${cursor ? "; there are more" : ""}.`);
  } catch (error) {
    if (!more) { // a refused search (from after to...): the previous results are not its own
      fill(results);
      cursor = null;
      next.hidden = true;
      shownCount = 0;
    }
    speak(describe(error), "error");
  }
}

async function detail(jobId) {
  fill(byId("job-title"), "Job ", h("code", {}, jobId));
  fill(byId("job-fields"));
  fill(byId("job-errors"));
  fill(byId("job-error-count"));
  const speak = say.here();
  speak("Loading the job…");
  try {
    const job = await api(`admin/jobs/${encodeURIComponent(jobId)}`);
    fill(byId("job-fields"), fields([
      ["Type", job.type],
      ["Status", job.status],
      ["User", `${job.email ?? "(account gone)"} — ${job.user_id}`],
      ["Format", job.format],
      ["Created", when(job.created_at)],
      ["Started", when(job.started_at)],
      ["Completed", when(job.completed_at)],
      ["Rows", rows(job)],
      ["Error", job.error],
    ]));
    fill(byId("job-error-count"), job.error_count
      ? `${count(job.error_count)} row${job.error_count === 1 ? "" : "s"} failed${job.error_count > job.errors.length ? `; the first ${job.errors.length} are shown` : ""}.`
      : "No row failed.");
    fill(byId("job-errors"), job.errors.length ? table([
      { label: "Row", value: (e) => e.row },
      { label: "ISBN", value: (e) => e.isbn },
      { label: "Reason", value: (e) => e.reason },
    ], job.errors) : []);
    speak("Job loaded.");
  } catch (error) {
    speak(describe(error), "error");
  }
}

export function setUp() {
  const form = byId("jobs-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = formValues(form);
    searched = true;
    busy(form.querySelector("button[type=submit]"), () => search(false));
  });
  const next = byId("jobs-next");
  next.addEventListener("click", () => busy(next, () => search(true)));
}

export function open(jobId) {
  if (jobId) {
    detail(jobId);
    return "view-job";
  }
  if (!searched) { // the first visit lists the newest jobs; later ones keep the last search
    searched = true;
    search(false);
  }
  return "view-jobs";
}
