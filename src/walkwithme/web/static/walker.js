// Her own walk page: reports where she is from this browser (Geolocation watchPosition, high
// accuracy) to the same fix path as any phone, keeps the screen on where the browser can,
// keeps the fixes it could not send in localStorage and sends them in order, with the time
// each was taken, when the network is back. Its "Are you OK?" PIN pad: walker_check.js.

import { keepCheck } from "./walker_check.js";
import { keepLooks } from "./looks.js";
import { keepMessages } from "./waiting_messages.js";
import { ServiceClock } from "./service_clock.js";
import * as words from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const tables = data.words;
const byId = (id) => document.getElementById(id);
const QUEUE = `wwm-fixes-${data.walk_id}`;
// The walk she is on, for the page her phone shows when a page can't load (offline.js): SOS
// there is for this walk. Kept while it is live, gone when it is over.
const WALKING = "wwm-walking";
const KEPT_PAST_EXPECTED_MS = 6 * 3600 * 1000;

// A PIN her page could not take (a wrong one) is answered with this page at the form's own
// address (`/walks/1/inside`): reloaded there, it would send the PIN again, one attempt more
// towards the alarm. The page takes its walk's own address, which a reload only reads.
const own = `/walks/${data.walk_id}`;
// `?done=ok` goes too: read again later, "Thank you" would stand above a new question.
if (location.pathname !== own || location.search) {
  history.replaceState(history.state, "", own + location.hash);
}
const BATCH = 100;
const RETRY_MS = 5000;

// Fixes are stamped in the service's time (a phone's clock may be off; a drill runs fast).
const clock = new ServiceClock(data.now);
const serviceNow = () => clock.now();

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

// Said only when it changes: a live region written every few seconds with much the same
// words had her phone talk every 5 s while she stood still (an accessibility review).
function say(text) {
  const state = byId("report-state");
  if (state && state.textContent !== text) state.textContent = text;
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

// Positions wait to be sent: the line at the top says so, not "Sharing your position. Last
// sent 23:28" over the queue's own notice (a walker-in-danger review).
function sayHeld() {
  // (Not "yet": a page opened again offline knows nothing of what it sent before.)
  if (lastSent === null) return say("Waiting to be sent: your companions can't see where you are now.");
  const at = words.clockTime(lastSent, data.tz);
  say(`Not sent since ${at}: your companions see where you were then.`);
}

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
    sayHeld();
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
      clock.set(body.now);
      // Committed (or refused for good): they leave the queue, the rest wait their turn.
      keep(queued().slice(batch.length));
      lastSent = batch[batch.length - 1].t;
      sent = true;
      say(sharing(batch[batch.length - 1], (body.results || []).at(-1)));
    } else if ([401, 403, 404].includes(answer.status)) {
      stopped = true;
      say("This page can no longer share your position: reload it.");
    } else {
      throw new Error(String(answer.status));
    }
  } catch {
    sayQueue("the service could not be reached. Trying again.");
    sayHeld();
    tryAgainLater();
  } finally {
    sending = false;
  }
  if (sent && queued().length) return flush();
  if (sent) sayQueue("");
}

// A position vaguer than this is shown but not judged by the service's rules (domain/fixes.py,
// MAX_JUDGED_ACCURACY_M): her companions would not see her get nearer, and she would be asked
// if she is OK. Vaguer than 500 m, it is kept off the map too ("flagged").
const ROUGH_M = 150;

// What the page says once positions are sent: that it shares them, or, when her phone gives
// only a rough one, how to give a precise one.
function sharing(last, result) {
  if (result && (result.status === "not_kept" || result.status === "refused")) {
    // Not "Sharing" beside "No position yet": it was sent, and not taken (a review found it).
    const at = words.clockTime(last.t, data.tz);
    return `Your position of ${at} was sent but not taken: ${result.reason || "it could not be used"}.`;
  }
  const flagged = result && result.status === "flagged" && /inaccurate/.test(result.reason || "");
  const rough = flagged || (last.accuracy !== undefined && last.accuracy > ROUGH_M);
  if (!rough) return `Sharing your position. Last sent ${words.clockTime(last.t, data.tz)}.`;
  return (
    `Your phone gives only a rough position (within ${words.atMost(last.accuracy)}): your ` +
    "companions can't see you get nearer. Turn on precise location for this site (on an " +
    "iPhone: Settings, Privacy, Location Services, your browser, Precise Location)."
  );
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
  return Math.round(clock.timeAt(when));
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

// Standing still, her browser may give no new position even when asked again: her companions
// then read "No position for 3 min", and her page must not go on saying "Sharing your
// position. Last sent 22:02" (an outside review). A new position says "Sharing" again.
const QUIET_MS = 90000;
function sayQuiet() {
  if (stopped || watching === null || lastSent === null || queued().length) return;
  const quiet = serviceNow() - lastSent;
  if (quiet < QUIET_MS) return;
  const at = words.clockTime(lastSent, data.tz);
  // (Since when, not for how long: words that change each minute were said again each minute.)
  say(
    `This phone has given no new position since ${at}. Keep this page open and in front, ` +
      "with the screen on.",
  );
}

let lastPositionAt = 0; // (this device's clock) when the browser last gave a position

function onPosition(position) {
  lastTaken = Date.now();
  lastPositionAt = lastTaken;
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
  } else if (Date.now() - lastPositionAt > STILL_MS) {
    // (Not while positions come: a browser offline may fail one request for a fix between
    // two it gives, and "Looking for your position…" beside "4 positions are waiting to be
    // sent" read as if none were taken: an outside review.)
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
  setInterval(() => {
    askAgain();
    sayQuiet();
  }, 5000);
  keepAwake();
}

function stopReporting() {
  if (watching !== null) navigator.geolocation.clearWatch(watching);
  localStorage.removeItem(QUEUE);
  forgetWalking();
  watching = null;
  stopped = true;
  if (wakeLock) wakeLock.release().catch(() => {});
  for (const id of ["walker-actions", "sos-form"]) {
    const element = byId(id);
    if (element) element.hidden = true;
  }
}

function forgetWalking() {
  try {
    if (JSON.parse(localStorage.getItem(WALKING) || "null")?.walk_id !== data.walk_id) return;
  } catch {
    // not ours to keep: it goes
  }
  localStorage.removeItem(WALKING); // another walk's, begun since, stays
}

async function begin() {
  const button = byId("report-start");
  if (!button) {
    // The walk is over: nothing it took is kept outside a walk, here either.
    localStorage.removeItem(QUEUE);
    localStorage.removeItem(`wwm-sos-${data.walk_id}`);
    localStorage.removeItem(`wwm-messages-${data.walk_id}`);
    forgetWalking();
    return;
  }
  // Until hours past when she is expected (by this device's clock): kept past it, a walk
  // ended while this page was closed would be offered SOS for, days on.
  const expected = (data.view && data.view.expected_at) || serviceNow();
  const until = Date.now() + Math.max(0, expected - serviceNow()) + KEPT_PAST_EXPECTED_MS;
  localStorage.setItem(WALKING, JSON.stringify({ walk_id: data.walk_id, csrf: data.csrf, until }));
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

// -- without a network: her messages wait (waiting_messages.js) -------------------------
const sendMessages = keepMessages({ walkId: data.walk_id, csrf: data.csrf, retryMs: RETRY_MS });

keepCheck({ data, clock, onOver: stopReporting });
begin();
sendMessages();
export { serviceNow };

// -- who looked: kept up while the page is open (her companions open it as she walks) ------
keepLooks({
  list: byId("looks"),
  none: byId("looks-none"),
  url: data.looks_url,
  sentences: data.words.looks,
  tz: data.tz,
  now: serviceNow,
});
