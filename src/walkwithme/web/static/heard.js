// Her walk page: what someone following her walk last said to her, just under SOS ("Noor:
// “Are you OK?” (23:31)"): in her timeline alone it was a line some 2,500 px down the page, and
// her first screen did not change (an outside review). A reply that asks something of her
// ("Are you OK?", "Call me") also says it in her tab's title and buzzes the phone, as the
// service's own "Are you OK?" does, until she sends something herself. As walker_words.heard
// says it when the page is served.

import * as words from "./words.js";

const CALLS = ["Are you OK?", "Call me"]; // walker_words.CALLS

// `box`: the #heard line; `onTitle()`: her tab's title is to be said again (walker_check.js).
// Returns what her tab should say for it, or null. On his page (walk.js), `from`: only what
// she sent ("Mira: “Call me”"), and `call`: his way to call her, shown while she asks it.
export function keepHeard({ box, tables, me, tz, onTitle, from = null, call = null }) {
  let title = (box && box.dataset.title) || null;
  if (!box) return () => null;
  document.addEventListener("wwm:event", ({ detail: event }) => {
    // Her "I'm OK" to the service (walker_words.said_ok) answers his "Are you OK?" too: her
    // tab stopped asking only once she sent a message herself (an outside review).
    if (event.kind === "check_answered" || (event.kind === "extended" && event.answered)) {
      title = null;
      onTitle();
      return;
    }
    if (event.kind !== "message") return;
    // Gone from his page with her duress PIN (alarm_banner.js): nothing said, nothing buzzed.
    if (!box.isConnected) return;
    const sender = event.sender || {};
    if (sender.id === me) {
      title = null; // she answered: her tab stops asking
      if (call) call.hidden = true;
      onTitle();
      return;
    }
    if (from !== null && sender.id !== from) return;
    const said = words.fill(tables.events.message, { sender: sender.name, text: event.text });
    const at = document.createElement("span");
    at.className = "heard-at";
    at.textContent = `(${words.clockTime(event.at, tz)})`;
    box.replaceChildren(`${said} `, at);
    box.hidden = false;
    const asks = CALLS.includes(event.text);
    if (asks) {
      title = said;
      if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
    }
    if (call) call.hidden = !asks;
    onTitle();
  });
  return () => title;
}
