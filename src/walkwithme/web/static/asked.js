// His walk page: "Mira was asked “Are you OK?”: the phone went silent. If Mira doesn't answer
// by 23:47, the alarm is raised." on his first screen while her answer is awaited (walk.html
// #asked, walk_context.waiting), gone once it is answered, taken back or an alarm. Only the
// timeline said she was asked, 2,500 px down, under a headline that said all was well.
// What was said of an alarm before ("The alarm is over: Mira ended it") goes when a new
// question or alarm comes: it stood under the next one.

import { clockTime, fill, saidReason } from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const tables = data.words;
const name = data.view.walker.name;
const asked = document.getElementById("asked");
const call = document.getElementById("asked-call"); // (none without her number, or in silence)
const show = (shown) => {
  asked.hidden = !shown;
  if (call) call.hidden = !shown;
};
const ends = new Set(tables.notices.ends_a_question.split(" "));

function sayAsked(event) {
  asked.textContent = fill(tables.notices.asked, {
    name,
    reason: saidReason(tables, event), // (a timer walk's in its own words, as words.py says it)
    by: event.answer_by ? clockTime(event.answer_by, data.tz) : "its time",
  });
  show(true);
}

document.addEventListener("wwm:event", ({ detail: event }) => {
  if (event.cover) return; // what her devices are shown after her duress PIN: not this walk's
  const fresh = event.kind === "check" || event.kind === "sos" || (event.kind === "alarm" && !event.during);
  const acted = document.getElementById("acted");
  if (fresh && acted) acted.hidden = true;
  if (event.kind === "check") sayAsked(event);
  else if (ends.has(event.kind)) show(false);
});
