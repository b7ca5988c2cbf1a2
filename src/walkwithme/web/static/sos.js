// SOS that can't be hit by accident: press and hold for 2 seconds (the bar fills), then 5
// seconds to cancel; only then is it sent. Without a network it is kept and sent the moment
// the phone is back online, and the page says so. (Without this script the button is a plain
// form: it sends at once.)

const HOLD_MS = 2000;
const GRACE_S = 5;
const RETRY_MS = 5000;
const data = JSON.parse(document.getElementById("walk-data").textContent);
const byId = (id) => document.getElementById(id);
const KEPT = `wwm-sos-${data.walk_id}`;
// What the service said of her SOS, kept a while in this tab: sent from "No network", whose
// next step is her walk page opening again, it was never said (an outside review: "did it
// go?"); her walk page says it as it opens.
const SAID = `wwm-sos-said-${data.walk_id}`;
const SAID_FOR_MS = 10 * 60 * 1000;

const form = byId("sos-form");
const button = byId("sos");
const bar = byId("sos-bar");
const how = byId("sos-how");
const pending = byId("sos-pending");
const count = byId("sos-count");
const said = byId("sos-sent");
const call = byId("sos-call"); // "Call 112", once she has asked for help (none if not set)

let holdStart = null;
let holdTimer = null;
let keyHold = false; // the hold is a key's: it ends if the focus goes (its keyup goes elsewhere)
let graceTimer = null;
let left = GRACE_S;
let retry = null;
let delivering = false;

function setBar(fraction) {
  bar.style.width = `${Math.round(Math.min(1, fraction) * 100)}%`;
}

function tick() {
  if (holdStart === null) return;
  const fraction = (Date.now() - holdStart) / HOLD_MS;
  setBar(fraction);
  if (fraction >= 1) {
    holdStart = null;
    clearInterval(holdTimer);
    arm();
  }
}

function press(event) {
  if (holdStart !== null || !pending.hidden) return;
  event.preventDefault();
  holdStart = Date.now();
  how.textContent = "Keep holding…";
  holdTimer = setInterval(tick, 50);
}

function release() {
  keyHold = false;
  if (holdStart === null) return;
  holdStart = null;
  clearInterval(holdTimer);
  setBar(0);
  how.textContent = "Hold it for 2 seconds to send SOS";
}

function arm() {
  // What the page said of an earlier answer ("Thank you: … you are OK") is not said above
  // "Sending SOS in 5 s" (a review found it there).
  const done = byId("done");
  if (done) done.hidden = true;
  left = GRACE_S;
  count.textContent = String(left);
  pending.hidden = false;
  button.hidden = true;
  byId("sos-cancel").focus();
  graceTimer = setInterval(() => {
    left -= 1;
    count.textContent = String(Math.max(left, 0));
    if (left <= 0) fire();
  }, 1000);
}

// The countdown over, or cut short by "Send SOS now" (seven seconds, at the least, with
// nothing to send it sooner: an outside review).
function fire() {
  clearInterval(graceTimer);
  const focused = pending.contains(document.activeElement);
  pending.hidden = true;
  send();
  // Its Cancel goes with the countdown: the focus to "Call 112", or to what was said of the
  // SOS, not the page's start (an accessibility review, offline).
  if (focused) {
    const next = call && !call.hidden ? call : said;
    if (next === said) said.tabIndex = -1;
    next.focus();
  }
}

function cancel() {
  clearInterval(graceTimer);
  pending.hidden = true;
  button.hidden = false;
  setBar(0);
  how.textContent = "Cancelled: nothing was sent. Press and hold for 2 seconds";
  button.focus(); // not lost to the page's start with the hidden Cancel
}

// A click no pointer made (a screen reader's or a switch's "activate", which can't hold):
// the 5 seconds to cancel start at once. A finger's tap, or a key, still has to hold: a key's
// own click (a browser makes one when Space or Enter is let go) is never an activate.
let keyed = false;
function activated(event) {
  event.preventDefault();
  if (keyed) return;
  if (event.detail === 0 && holdStart === null && pending.hidden && !button.hidden) arm();
}

// Kept until the service has it: tried again every few seconds, not only on the browser's
// "online" event (which a browser can miss, and which a service that is down never sends).
function send() {
  localStorage.setItem(KEPT, String(Date.now()));
  deliver();
}

async function sentWords(answer) {
  try {
    return (await answer.json()).said;
  } catch {
    return "SOS sent.";
  }
}

// Sent: said so, and the button is there again, to send it again if she needs to.
function saySent(words) {
  said.hidden = false;
  if (call) call.hidden = false;
  said.classList.add("bad");
  said.textContent = words;
  button.hidden = false;
  setBar(0);
  how.textContent = "Press and hold for 2 seconds to send it again";
}

const offline = Boolean(byId("offline-walk")); // "No network" (offline.html)

// Said as her walk page opens, once, if it was sent from this tab a little while ago.
function sayKeptWords() {
  if (offline) return; // kept for her walk page
  let kept = null;
  try {
    kept = JSON.parse(sessionStorage.getItem(SAID) || "null");
  } catch {
    kept = null;
  }
  sessionStorage.removeItem(SAID);
  if (!kept || typeof kept.words !== "string" || !(Date.now() - kept.at < SAID_FOR_MS)) return;
  if (localStorage.getItem(KEPT)) return; // one on its way: what `deliver` says of it
  saySent(kept.words);
}

async function deliver() {
  clearTimeout(retry);
  if (delivering || !localStorage.getItem(KEPT)) return;
  said.hidden = false;
  if (call) call.hidden = false; // sent or not, help may be a call away
  if (!navigator.onLine) {
    said.textContent =
      "SOS: no network. It will be sent the moment this phone is back online. If you can, call for help.";
    retry = setTimeout(deliver, RETRY_MS);
    return;
  }
  delivering = true;
  said.textContent = "Sending SOS…";
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json", // what it met, in words: told, or nobody would hear
      },
      body: new URLSearchParams({ csrf: data.csrf }),
      cache: "no-store",
    });
    if (!answer.ok && answer.status >= 500) throw new Error(String(answer.status));
    localStorage.removeItem(KEPT);
    document.dispatchEvent(new CustomEvent("wwm:sos-sent")); // "No network" opens her page
    const words = answer.ok
      ? await sentWords(answer)
      : "SOS could not be sent: this walk is over. Call for help.";
    // From "No network" only: its next step is her walk page, which says it then. (Not on
    // her walk page's own reload, a wrong PIN's answer: it pushed that answer off her screen.)
    if (answer.ok && offline) sessionStorage.setItem(SAID, JSON.stringify({ words, at: Date.now() }));
    saySent(words);
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (lost) button.focus();
  } catch {
    said.textContent =
      "SOS not sent yet: the service can't be reached. Trying again every few seconds. If you can, call for help.";
    retry = setTimeout(deliver, RETRY_MS);
  } finally {
    delivering = false;
  }
}

form.addEventListener("submit", (event) => event.preventDefault());
button.addEventListener("click", activated);
button.addEventListener("pointerdown", press);
button.addEventListener("contextmenu", (event) => event.preventDefault());
for (const type of ["pointerup", "pointerleave", "pointercancel"]) {
  button.addEventListener(type, release);
}
button.addEventListener("keydown", (event) => {
  if (event.key !== " " && event.key !== "Enter") return;
  event.preventDefault(); // the repeats too: a held key must not press the button itself
  keyed = true;
  if (event.repeat || holdStart !== null) return;
  press(event);
  keyHold = holdStart !== null;
});
// Focus taken mid-hold (her page asks "Are you OK?" and puts her on the PIN): the key she lets
// go of no longer reaches SOS, so the hold ends here, or it would send SOS she let go of. A
// finger's hold goes on: its pointerup still comes to the button.
button.addEventListener("blur", () => {
  if (keyHold) release();
  keyed = false; // its keyup went elsewhere: a screen reader's "activate" is no key's click
});
button.addEventListener("keyup", (event) => {
  if (event.key !== " " && event.key !== "Enter") return;
  event.preventDefault();
  release();
  setTimeout(() => {
    keyed = false; // after the click a browser may make of this key, in this same turn
  }, 0);
});
byId("sos-cancel").addEventListener("click", cancel);
byId("sos-now").addEventListener("click", () => {
  if (!pending.hidden) fire();
});
how.textContent = "Press and hold for 2 seconds";

// A new question or alarm (walker_check.js): what was said of the SOS before, or of the alarm it
// raised ("The alarm is over: Noor ended it"), goes, unless an SOS is still on its way.
document.addEventListener("wwm:asked", () => {
  if (delivering || localStorage.getItem(KEPT) || !pending.hidden) return;
  said.hidden = true;
});

// The alarm is over: the button is SOS again, not "send it again" (an outside review).
let inAlarm = document.body.className.includes("state-alarm");
new MutationObserver(() => {
  const now = document.body.className.includes("state-alarm");
  if (inAlarm && !now && holdStart === null && pending.hidden) {
    how.textContent = "Press and hold for 2 seconds";
  }
  inAlarm = now;
}).observe(document.body, { attributes: true, attributeFilter: ["class"] });
window.addEventListener("online", deliver);
sayKeptWords();
deliver(); // kept from before the page was reloaded
