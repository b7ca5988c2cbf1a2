// Her own walk page: reports where she is from this browser (Geolocation watchPosition, high
// accuracy) to the same fix path as any phone, keeps the screen on where the browser can,
// keeps the fixes it could not send in localStorage and sends them in order, with the time
// each was taken, when the network is back. Also: the "Are you OK?" PIN pad, shown when the
// service asks (walk.js adds the question to the timeline; this page watches for it).

import * as words from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const tables = data.words;
const byId = (id) => document.getElementById(id);
const QUEUE = `wwm-fixes-${data.walk_id}`;

// A PIN her page could not take (a wrong one) is answered with this page at the form's own
// address (`/walks/1/inside`): reloaded there, it would send the PIN again, one attempt more
// towards the alarm. The page takes its walk's own address, which a reload only reads.
const own = `/walks/${data.walk_id}`;
if (location.pathname !== own) history.replaceState(history.state, "", own);
const BATCH = 100;
const RETRY_MS = 5000;

// Fixes are stamped in the service's time (a phone's clock may be off; a drill runs fast).
let offset = data.now - Date.now();
const serviceNow = () => Date.now() + offset;

function queued() {
  try {
    return JSON.parse(localStorage.getItem(QUEUE) || "[]");
  } catch {
    return [];
  }
}
function keep(fixes) {
  if (fixes.length) localStorage.setItem(QUEUE, JSON.stringify(fixes));
  else localStorage.removeItem(QUEUE);
}

function say(text) {
  const state = byId("report-state");
  if (state) state.textContent = text;
}
function sayQueue(why) {
  const box = byId("report-queue");
  if (!box) return;
  const waiting = queued().length;
  box.hidden = waiting === 0;
  const what = waiting === 1 ? "1 position is" : `${waiting} positions are`;
  box.textContent = `${what} waiting to be sent: ${why}`;
}

let sending = false;
let stopped = false;
let retry = null;
let lastSent = null;

// Tried again while anything waits: the "online" event alone is not to be trusted (a browser
// can miss it, or say "online" a moment before its network lets a request through).
function tryAgainLater() {
  clearTimeout(retry);
  retry = setTimeout(flush, RETRY_MS);
}

async function flush() {
  if (sending || stopped) return;
  const fixes = queued();
  if (!fixes.length) return sayQueue("");
  if (!navigator.onLine) {
    sayQueue("no network. They will be sent, in order, as soon as this phone is back online.");
    tryAgainLater();
    return;
  }
  sending = true;
  const batch = fixes.slice(0, BATCH);
  let sent = false;
  try {
    const answer = await fetch(data.fixes_url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": data.csrf },
      body: JSON.stringify({ fixes: batch }),
      cache: "no-store",
    });
    if (answer.ok) {
      const body = await answer.json();
      offset = body.now - Date.now();
      // Committed (or refused for good): they leave the queue, the rest wait their turn.
      keep(queued().slice(batch.length));
      lastSent = batch[batch.length - 1].t;
      sent = true;
      say(`Sharing your position. Last sent ${words.clockTime(lastSent, data.tz)}.`);
    } else if ([401, 403, 404].includes(answer.status)) {
      stopped = true;
      say("This page can no longer share your position: reload it.");
    } else {
      throw new Error(String(answer.status));
    }
  } catch {
    sayQueue("the service could not be reached. Trying again.");
    tryAgainLater();
  } finally {
    sending = false;
  }
  if (sent && queued().length) return flush();
  if (sent) sayQueue("");
}

let battery = null;
if (navigator.getBattery) {
  navigator.getBattery().then((b) => {
    battery = b;
  }, () => {});
}

function taken(position) {
  // The time the position was taken; a stale or skewed stamp is replaced by now.
  const stamp = position.timestamp;
  const when = Math.abs(stamp - Date.now()) < 30000 ? stamp : Date.now();
  return Math.round(when + offset);
}

// A browser reports a position when it changes: standing still (at her door, at a corner) it
// may say nothing for minutes, and her walk would look silent ("Are you OK?", then the alarm).
// So once it has been quiet this long, the watch starts again, which asks for a fresh fix.
const STILL_MS = 45000;
const WATCH = { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 };
let lastTaken = Date.now();
function askAgain() {
  if (watching === null || stopped || Date.now() - lastTaken < STILL_MS) return;
  lastTaken = Date.now(); // once a quiet spell, not at every look while the fix comes
  navigator.geolocation.clearWatch(watching);
  watching = navigator.geolocation.watchPosition(onPosition, onError, WATCH);
}

function onPosition(position) {
  lastTaken = Date.now();
  const c = position.coords;
  const fix = { t: taken(position), lat: c.latitude, lon: c.longitude };
  if (c.accuracy !== null && c.accuracy !== undefined) fix.accuracy = c.accuracy;
  if (c.speed !== null && c.speed !== undefined && c.speed >= 0) fix.speed = c.speed;
  if (c.heading !== null && c.heading !== undefined && !Number.isNaN(c.heading)) {
    fix.bearing = c.heading;
  }
  if (c.altitude !== null && c.altitude !== undefined) fix.altitude = c.altitude;
  if (battery) fix.battery = Math.round(battery.level * 100);
  const fixes = queued();
  const last = fixes[fixes.length - 1];
  if (last && last.t >= fix.t) fix.t = last.t + 1; // in order, never two at one instant
  fixes.push(fix);
  keep(fixes);
  flush();
}

function onError(error) {
  if (error.code === error.PERMISSION_DENIED) {
    denied = true;
    say("This browser may not tell us where you are. Allow location for this site, or use a phone app.");
    byId("report-start").hidden = false;
  } else {
    say("Looking for your position…");
  }
}

let watching = null;
let wakeLock = null;
let denied = false;

async function keepAwake() {
  if (!("wakeLock" in navigator)) {
    byId("report-limits").prepend("This browser can't keep the screen on: keep it on yourself. ");
    return;
  }
  try {
    wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    wakeLock = null;
  }
}

// Her phone's app (or another browser) may be what shares her position: this page then
// says so, and offers itself as a second way, not as what is missing. Judged again as her
// positions come (walk.js) and as they grow old.
let lastPosition = data.view.last_position;
function judgeSharing() {
  const button = byId("report-start");
  if (!button || watching !== null || stopped) return;
  const fresh =
    lastPosition && serviceNow() - lastPosition.t < words.silentS(data.view) * 1000;
  if (fresh) {
    const at = words.clockTime(lastPosition.t, data.tz);
    say(`Your position is arriving from another device (last at ${at}). This page need not share it.`);
    button.textContent = "Share from this page too";
    button.classList.remove("primary", "huge");
  } else if (!denied) {
    say("This page is not sharing your position yet.");
    button.textContent = "Share my position from this page";
    button.classList.add("primary", "huge");
  }
}
document.addEventListener("wwm:position", (event) => {
  lastPosition = event.detail;
  judgeSharing();
});

function startReporting() {
  if (watching !== null || !navigator.geolocation) {
    if (!navigator.geolocation) say("This browser can't tell where you are: use a phone app.");
    return;
  }
  byId("report-start").hidden = true;
  say("Sharing your position…");
  watching = navigator.geolocation.watchPosition(onPosition, onError, WATCH);
  setInterval(askAgain, 5000);
  keepAwake();
}

function stopReporting() {
  if (watching !== null) navigator.geolocation.clearWatch(watching);
  localStorage.removeItem(QUEUE);
  watching = null;
  stopped = true;
  if (wakeLock) wakeLock.release().catch(() => {});
  for (const id of ["walker-actions", "sos-form"]) {
    const element = byId(id);
    if (element) element.hidden = true;
  }
}

async function begin() {
  const button = byId("report-start");
  if (!button) {
    // The walk is over: nothing it took is kept outside a walk, here either.
    localStorage.removeItem(QUEUE);
    localStorage.removeItem(`wwm-sos-${data.walk_id}`);
    localStorage.removeItem(`wwm-messages-${data.walk_id}`);
    return;
  }
  button.addEventListener("click", startReporting);
  let granted = false;
  try {
    granted = (await navigator.permissions.query({ name: "geolocation" })).state === "granted";
  } catch {
    granted = false;
  }
  if (granted) startReporting();
  else button.hidden = false;
  judgeSharing();
  setInterval(judgeSharing, 15000);
  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && watching !== null) {
      keepAwake();
      flush();
    }
  });
  flush(); // what an earlier visit could not send
}

// -- "Are you OK?" -----------------------------------------------------------------------
const check = byId("check");
const pin = byId("ok-pin");
for (const key of document.querySelectorAll("[data-digit]")) {
  key.addEventListener("click", () => {
    if (key.dataset.digit === "back") pin.value = pin.value.slice(0, -1);
    else if (pin.value.length < 8) pin.value += key.dataset.digit;
    const typed = pin.value.length;
    byId("pin-count").textContent = `${typed} ${typed === 1 ? "digit" : "digits"} entered`;
  });
}

// An alarm three wrong PINs raised: no PIN ends it, so the pad goes and the section says
// who can end it (as the page says it when loaded in one).
const okForm = byId("ok-form");
let locked = okForm.hidden;
function showLocked() {
  check.hidden = false;
  okForm.hidden = true;
  for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = true;
  byId("check-title").textContent = check.dataset.lockedTitle;
  byId("check-why").textContent = check.dataset.lockedWhy;
}

function watchTheWalk() {
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const item of change.addedNodes) {
        if (!(item instanceof HTMLElement)) continue;
        if (item.classList.contains("kind-alarm") && item.dataset.reason === "wrong_pins") {
          locked = true;
          showLocked();
        }
        if (item.classList.contains("kind-check")) {
          check.hidden = false;
          byId("check-title").textContent = "Are you OK?";
          // Why she is asked, as the page says it when loaded (words.reason: the same words).
          const asked = item.dataset.reason;
          const why = asked ? `We asked because: ${words.reason(tables, asked)}. ` : "";
          byId("check-why").textContent =
            `${why}Enter your PIN to tell the people following your walk.`;
          pin.focus();
        }
        // Her phone reports again, or she is getting closer: the question is taken back.
        if (item.classList.contains("kind-check_withdrawn")) check.hidden = true;
      }
    }
  }).observe(byId("timeline"), { childList: true });
  let inAlarm = document.body.className.includes("state-alarm");
  new MutationObserver(() => {
    const state = document.body.className;
    if (state.includes("state-safe") || state.includes("state-ended")) {
      stopReporting();
      check.hidden = true;
    } else if (state.includes("state-alarm") && locked) {
      showLocked();
    } else if (state.includes("state-alarm")) {
      check.hidden = false;
      byId("check-title").textContent = "If you are OK, say so"; // as the page loads in an alarm
      // Not why she was asked before: the alarm is what her PIN ends now.
      byId("check-why").textContent = "Enter your PIN to tell the people following your walk.";
    } else if (inAlarm) {
      // The alarm is over (resolved: its question with it): the pad goes, without a reload,
      // and is there again for the next question.
      check.hidden = true;
      pin.value = "";
      locked = false;
      okForm.hidden = false;
      for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = false;
    }
    inAlarm = state.includes("state-alarm");
  }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
}

// -- without a network -------------------------------------------------------------------
// Messages wait in localStorage and are sent, in order, when the network is back. What takes
// her PIN is not kept on the phone: the page says it was not sent (SOS is kept: sos.js).
const MESSAGES = `wwm-messages-${data.walk_id}`;
const offlineSaid = byId("offline-said");

function waitingMessages() {
  try {
    return JSON.parse(localStorage.getItem(MESSAGES) || "[]");
  } catch {
    return [];
  }
}

function tell(text) {
  if (!offlineSaid) return;
  offlineSaid.textContent = text;
  offlineSaid.hidden = !text;
}

let posting = false;
let messagesRetry = null;
async function sendMessages() {
  clearTimeout(messagesRetry);
  if (posting) return;
  if (!waitingMessages().length) {
    if (navigator.onLine) tell(""); // back online: "not sent, try again" has done its work
    return;
  }
  if (!navigator.onLine) {
    messagesRetry = setTimeout(sendMessages, RETRY_MS); // as her positions: not only on "online"
    return;
  }
  posting = true;
  try {
    let waiting = waitingMessages();
    while (waiting.length) {
      const answer = await fetch(`/walks/${data.walk_id}/message`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf: data.csrf, text: waiting[0] }),
        cache: "no-store",
      });
      if (answer.status >= 500) throw new Error(String(answer.status));
      waiting = waitingMessages().slice(1);
      localStorage.setItem(MESSAGES, JSON.stringify(waiting));
    }
    localStorage.removeItem(MESSAGES);
    tell("");
  } catch {
    messagesRetry = setTimeout(sendMessages, RETRY_MS); // still no way through
  } finally {
    posting = false;
  }
}

for (const form of document.querySelectorAll("#walker-actions form, #check form")) {
  if (form.id === "sos-form") continue;
  form.addEventListener("submit", (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    if (form.action.endsWith("/message")) {
      const text = (event.submitter && event.submitter.value) || form.elements.text.value;
      if (!text) return;
      const waiting = waitingMessages();
      waiting.push(text);
      localStorage.setItem(MESSAGES, JSON.stringify(waiting));
      if (form.elements.text) form.elements.text.value = "";
      const what = waiting.length === 1 ? "your message waits" : `${waiting.length} messages wait`;
      tell(`No network: ${what}, and will be sent when you are back online.`);
      sendMessages();
    } else {
      tell(
        "No network: this was not sent. Try again when you are back online. " +
          "If you are in danger, hold SOS: it is kept and sent as soon as it can be.",
      );
    }
  });
}
window.addEventListener("online", sendMessages);

watchTheWalk();
begin();
sendMessages();
export { serviceNow };

// -- who looked: kept up while the page is open (her companions open it as she walks) ------
const LOOKS_EVERY_MS = 30000;
async function refreshLooks() {
  const list = byId("looks");
  if (!list || !data.looks_url || document.hidden) return;
  let looks;
  try {
    const answer = await fetch(data.looks_url, { cache: "no-store" });
    if (!answer.ok) return; // the walk is gone from her devices' view, or she signed out
    looks = await answer.json();
  } catch {
    return; // no network: the list stays as it was, and is asked again
  }
  const sentences = data.words.looks;
  list.replaceChildren(
    ...looks.reverse().map((look) => {
      const item = document.createElement("li");
      const when = document.createElement("span");
      when.className = "when";
      when.dataset.at = look.at;
      when.textContent = words.when(look.at, serviceNow(), data.tz);
      const text = words.fill(sentences[look.via] || "Someone looked at your walk", {
        who: look.who || "Someone",
        link: look.link || "",
      });
      item.append(when, " ", text);
      return item;
    }),
  );
  list.hidden = looks.length === 0;
  byId("looks-none").hidden = looks.length > 0;
}
setInterval(refreshLooks, LOOKS_EVERY_MS);
document.addEventListener("visibilitychange", refreshLooks);

