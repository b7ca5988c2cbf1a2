// His walk page: an alarm that comes after one was ended, the walk going on, says so in its
// banner ("A new alarm: Noor ended the last one at 23:10, and the walk went on."; walk.html
// #alarm-new, walk_context.again_said): the alerts said it, the page did not, and Sam, told
// the first was over, took the new one for it said late (an outside review).

import { clockTime, person } from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const line = document.getElementById("alarm-new");
let ended = data.last_resolved; // the alarm ended last, the walk going on (or null)

document.addEventListener("wwm:event", ({ detail: event }) => {
  if (!line || event.cover) return; // what her devices are shown after her duress PIN
  if (event.kind === "alarm_resolved") {
    ended = event;
    line.hidden = true;
  } else if (event.kind === "alarm" && !event.during && ended) {
    const who = person(ended.by, data.me);
    const at = clockTime(ended.at, data.tz);
    line.textContent =
      `A new alarm: ${who === "You" ? "you" : who} ended the last one at ${at}, ` +
      "and the walk went on.";
    line.hidden = false;
  }
});
