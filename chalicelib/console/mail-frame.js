// Runs in the sandboxed mail frame (an opaque origin: it cannot read the console's storage).
// Takes the email's HTML from the console that framed it and shows it. HTML inserted with
// innerHTML never runs its <script> elements, and the frame's policy refuses inline event
// handlers; links open in a new tab, outside the frame.
"use strict";

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || typeof event.data !== "string") return;
  document.documentElement.innerHTML = event.data;
  for (const link of document.querySelectorAll("a[href]")) {
    link.target = "_blank";
    link.rel = "noopener noreferrer";
  }
});
