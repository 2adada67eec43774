// Overview: jobs by state, report emails sent and failed, dead letters, SES's quota, the queues,
// each schedule's last runs, and charts of reports sent and rows imported
// (GET /admin/stats?window=hour|day, GET /admin/schedules).

import { api, describe } from "./api.js";
import { h, byId, fill, table, count, when, busy, announcer } from "./dom.js";
import { barChart } from "./chart.js";

const say = announcer("overview"); // this view's messages, while it is open

const UNAVAILABLE = "Unavailable now.";

/** A <dt>/<dd> pair whose <dd> tests and scripts can find by `data-stat`. */
function stat(term, key, value) {
  return [h("dt", {}, term), h("dd", { "data-stat": key }, count(value))];
}

function renderJobs(stats) {
  const jobs = stats.jobs;
  fill(byId("overview-jobs"), jobs ? [
    ...stat("Queued", "jobs.queued", jobs.queued),
    ...stat("Processing", "jobs.processing", jobs.processing),
    ...stat("Completed", "jobs.completed", jobs.completed),
    ...stat("Failed", "jobs.failed", jobs.failed),
  ] : [h("dd", {}, UNAVAILABLE)]);
  fill(byId("overview-jobs-since"), jobs ? ["Completed and failed: created since ", when(stats.jobs_since), "."] : []);
}

function renderReports(stats) {
  const reports = stats.reports;
  const row = (label, key, windows) => h("tr", {},
    h("th", { scope: "row" }, label),
    h("td", { "data-stat": `reports.${key}.last_hour` }, count(windows.last_hour)),
    h("td", { "data-stat": `reports.${key}.last_24_hours` }, count(windows.last_24_hours)));
  const body = byId("overview-reports").tBodies[0];
  fill(body, reports
    ? [row("Sent", "sent", reports.sent), row("Failed attempts", "failed", reports.failed)]
    : [h("tr", {}, h("td", { colspan: 3 }, UNAVAILABLE))]);
}

function renderSes(ses) {
  fill(byId("overview-ses"), ses ? [
    ...stat("Sent in the last 24 hours", "ses.sent_last_24_hours", ses.sent_last_24_hours),
    ...stat("Quota for 24 hours", "ses.max_24_hour_send", ses.max_24_hour_send),
    ...stat("Most emails a second", "ses.max_send_rate", ses.max_send_rate),
  ] : [h("dd", {}, UNAVAILABLE)]);
}

export function queuesTable(queues, extraColumns = []) {
  return table([
    { label: "Queue", value: (q) => q.name },
    { label: "Consumer", value: (q) => q.consumer },
    { label: "Waiting", value: (q) => count(q.depth) },
    { label: "In flight", value: (q) => count(q.in_flight) },
    { label: "Dead letters", value: (q) => count(q.dead_letter_depth) },
    ...extraColumns,
  ], queues, { empty: "No queues." });
}

function renderCharts(series) {
  const target = byId("overview-chart");
  if (!series) return fill(target, h("p", {}, UNAVAILABLE));
  const common = { points: series.points, bucketSeconds: series.bucket_seconds };
  return fill(target,
    barChart({ ...common, title: "Reports sent", key: "reports_sent", className: "reports" }),
    barChart({ ...common, title: "Rows imported", key: "rows_imported", className: "rows" }));
}

// A run's name and duration have their own columns: not repeated in its summary.
const SHOWN_APART = new Set(["name", "duration_ms"]);

/** A schedule run's summary as short text: "dispatched: 3, refused: 0, ...". */
export function summaryText(summary) {
  if (summary === null || summary === undefined) return "—";
  if (typeof summary !== "object") return String(summary);
  return Object.entries(summary)
    .filter(([name, value]) => !SHOWN_APART.has(name) && (value === null || typeof value !== "object"))
    .map(([name, value]) => `${name}: ${value}`)
    .join(", ");
}

export function runsTable(runs) {
  return table([
    { label: "Started", value: (r) => when(r.started_at) },
    { label: "Took", value: (r) => (r.duration_ms === null || r.duration_ms === undefined ? null : `${Math.round(r.duration_ms)} ms`) },
    { label: "Trigger", value: (r) => r.trigger, class: "nowrap" },
    { label: "Summary", value: (r) => summaryText(r.summary) },
  ], runs, { empty: "No runs recorded yet." });
}

function renderSchedules(answer) {
  const target = byId("overview-schedules");
  if (answer.status === "rejected") return fill(target, h("p", {}, describe(answer.reason)));
  return fill(target, answer.value.items.map((s) => h("article", { class: "schedule" },
    h("h3", {}, `${s.name} `, h("span", { class: `badge ${s.state}` }, s.state)),
    h("p", { class: "muted" }, s.expression),
    runsTable(s.last_runs))));
}

async function load() {
  const span = byId("overview-window").value;
  say("Loading the overview…");
  const [stats, schedules] = await Promise.allSettled([
    api("admin/stats", { query: { window: span } }),
    api("admin/schedules"),
  ]);
  renderSchedules(schedules);
  if (stats.status === "rejected") {
    say(describe(stats.reason), "error");
    return;
  }
  const value = stats.value;
  renderJobs(value);
  renderReports(value);
  fill(byId("overview-dead-letters"), value.dead_letters === null
    ? UNAVAILABLE
    : [h("span", { "data-stat": "dead_letters" }, count(value.dead_letters)), " waiting"]);
  renderSes(value.ses);
  renderCharts(value.series);
  fill(byId("overview-queues"), value.queues ? queuesTable(value.queues) : h("p", {}, UNAVAILABLE));
  fill(byId("overview-generated"), "As of ", when(value.generated_at));
  const missing = value.unavailable.length ? ` Unavailable now: ${value.unavailable.join(", ")}.` : "";
  say(`Overview loaded.${missing}`, missing ? "error" : "info");
}

export function setUp() {
  const refresh = byId("overview-refresh");
  refresh.addEventListener("click", () => busy(refresh, load));
  byId("overview-window").addEventListener("change", load);
}

export function open() {
  load();
  return "view-overview";
}
