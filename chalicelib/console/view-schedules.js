// Schedules and queues: run a schedule now and wait for its work (POST
// /admin/jobs/{name}/run?wait=true), pause or resume a schedule (its EventBridge rule) and a
// queue's consumer (its event source mapping). Lists: GET /admin/schedules, GET /admin/queues.

import { api, describe } from "./api.js";
import { h, byId, fill, fields, busy, announcer } from "./dom.js";
import { queuesTable, runsTable } from "./view-overview.js";

const say = announcer("schedules"); // this view's messages, while it is open

function switchButton(kind, name, state) {
  const verb = state === "paused" ? "resume" : "pause";
  const label = verb === "pause" ? "Pause" : "Resume";
  const button = h("button", { type: "button", "aria-label": `${label} ${name}` }, label);
  const path = kind === "schedule" ? "admin/schedules" : "admin/queues";
  button.addEventListener("click", () => busy(button, async () => {
    try {
      const item = await api(`${path}/${encodeURIComponent(name)}/${verb}`, { method: "POST" });
      await load();
      say(`${name} is ${item.state}.`);
    } catch (error) {
      say(describe(error), "error");
    }
  }));
  return button;
}

function runButton(name) {
  const button = h("button", { type: "button", "aria-label": `Run ${name} now` }, "Run now");
  button.addEventListener("click", () => busy(button, async () => {
    say(`Running ${name} and waiting for its work (up to 25 s)…`);
    try {
      const summary = await api(`admin/jobs/${encodeURIComponent(name)}/run`, { method: "POST", query: { wait: "true" } });
      showRun(summary);
      await load();
      say(`${name} ran: ${summary.dispatched} dispatched${summary.drained === false ? "; its work is still going on" : ", its work is done"}.`);
    } catch (error) {
      say(describe(error), "error");
    }
  }));
  return button;
}

function showRun(summary) {
  byId("schedules-run").hidden = false;
  fill(byId("schedules-run-title"), `Last run: ${summary.name}`);
  const pairs = Object.entries(summary)
    .filter(([, value]) => value === null || typeof value !== "object")
    .map(([name, value]) => [name.replaceAll("_", " "), value === null ? null : String(value)]);
  fill(byId("schedules-run-fields"), fields(pairs));
}

function scheduleCard(schedule) {
  return h("article", { class: "schedule", "data-schedule": schedule.name },
    h("h3", {}, `${schedule.name} `, h("span", { class: `badge ${schedule.state}` }, schedule.state)),
    h("p", { class: "muted" }, schedule.expression),
    h("p", { class: "row-actions" }, runButton(schedule.name), switchButton("schedule", schedule.name, schedule.state)),
    runsTable(schedule.last_runs));
}

async function load() {
  const [schedules, queues] = await Promise.allSettled([api("admin/schedules"), api("admin/queues")]);
  fill(byId("schedules-list"), schedules.status === "fulfilled"
    ? schedules.value.items.map(scheduleCard)
    : h("p", {}, describe(schedules.reason)));
  fill(byId("queues-list"), queues.status === "fulfilled"
    ? queuesTable(queues.value.items, [
      // null where the endpoint has no event source mapping (the LocalStack tier)
      { label: "Consumer state", value: (q) => (q.state ? h("span", { class: `badge ${q.state}` }, q.state) : "no mapping") },
      { label: "Actions", value: (q) => (q.state ? switchButton("queue", q.consumer, q.state) : null) },
    ])
    : h("p", {}, describe(queues.reason)));
  const failed = [schedules, queues].find((answer) => answer.status === "rejected");
  if (failed) say(describe(failed.reason), "error");
  return !failed;
}

export function setUp() {
  const refresh = byId("schedules-refresh");
  refresh.addEventListener("click", () => busy(refresh, async () => {
    if (await load()) say("Schedules and queues loaded.");
  }));
}

export function open() {
  say("Loading the schedules and queues…");
  load().then((ok) => ok && say("Schedules and queues loaded."));
  return "view-schedules";
}
