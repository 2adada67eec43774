// A bar chart as inline SVG, built with DOM calls (no library, no HTML strings). Colours and
// fonts come from console.css through class names: the page allows no inline style.

import { h, table, count } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 180;
const MARGIN = { top: 12, right: 8, bottom: 24, left: 48 };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** "18:07" (a minute's bucket) or "Nov 30 18:00" (an hour's), in UTC. */
function label(iso, bucketSeconds) {
  const at = new Date(iso).toISOString();
  return bucketSeconds < 3600 ? at.slice(11, 16) : `${at.slice(5, 10)} ${at.slice(11, 16)}`;
}

/**
 * A <figure> charting one series: `points` is [{at, ...}] oldest first, `key` the number to
 * draw ("reports_sent"), `title` its caption. Each bar has a tooltip (<title>); a table of
 * the same numbers follows in a <details> for screen readers and exact values.
 */
export function barChart({ title, points, key, bucketSeconds, className }) {
  const values = points.map((p) => Number(p[key]) || 0);
  const top = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const step = plotWidth / Math.max(1, points.length);
  const captionId = `chart-${key}`;

  const bars = points.map((point, i) => {
    const height = (values[i] / top) * plotHeight;
    return svg("rect", {
      class: `bar ${className}`,
      x: MARGIN.left + i * step + step * 0.1,
      y: MARGIN.top + plotHeight - height,
      width: Math.max(1, step * 0.8),
      height: Math.max(0, height),
    }, svg("title", {}, document.createTextNode(`${label(point.at, bucketSeconds)} UTC: ${values[i]}`)));
  });
  const axisY = MARGIN.top + plotHeight;
  const text = (x, y, content, anchor) =>
    svg("text", { x, y, "text-anchor": anchor, class: "axis-label" }, document.createTextNode(content));
  const ticks = points.length
    ? [
        text(MARGIN.left, HEIGHT - 6, label(points[0].at, bucketSeconds), "start"),
        text(WIDTH - MARGIN.right, HEIGHT - 6, label(points.at(-1).at, bucketSeconds), "end"),
      ]
    : [];
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": captionId,
    class: "chart",
  },
  svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: axisY, y2: axisY, class: "axis" }),
  svg("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: axisY, class: "axis" }),
  text(MARGIN.left - 6, MARGIN.top + 10, count(top), "end"),
  text(MARGIN.left - 6, axisY, "0", "end"),
  ...ticks,
  ...bars);

  const numbers = table(
    [
      { label: "From (UTC)", value: (p) => label(p.at, bucketSeconds) },
      { label: title, value: (p) => count(p[key]) },
    ],
    points,
  );
  return h("figure", { class: "chart-figure" },
    h("figcaption", { id: captionId }, `${title}: ${count(total)} in all`),
    chart,
    h("details", {}, h("summary", {}, "The numbers"), numbers));
}
