// Her own walk page: reports where she is from this browser (Geolocation watchPosition, high
// accuracy) to the same fix path as any phone, keeps the screen on where the browser can,
// keeps the fixes it could not send in localStorage and sends them in order, with the time
// each was taken, when the network is back. Also: the "Are you OK?" PIN pad, shown when the
// service asks (walk.js adds the question to the timeline; this page watches for it).

import { keepHeard } from "./heard.js";
import { keepLooks } from "./looks.js";
import { keepMessages } from "./waiting_messages.js";
import { ServiceClock } from "./service_clock.js";
import { keepTimeLeft, timeLeft } from "./time_left.js";
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
// How long is left to answer the question: counted down while it waits (`until`: when its
// time is up, by the service's clock; none: hidden). The service's clock is asked again: it
// may have moved on since (a drill).
const timeLeftSaid = byId("time-left");
function sayTimeLeft(until) {
  timeLeftSaid.dataset.until = until ? String(until) : "";
  timeLeftSaid.textContent = until ? timeLeft(until - serviceNow()) : "";
  timeLeftSaid.hidden = !until;
  if (until) clock.sync();
}
keepTimeLeft("time-left", serviceNow);

function showLocked() {
  sayTimeLeft(null);
  check.hidden = false;
  okForm.hidden = true;
  for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = true;
  byId("check-title").textContent = check.dataset.lockedTitle;
  byId("check-why").textContent = check.dataset.lockedWhy;
}

// What the page said of an earlier question or alarm goes when a new one comes: "Thank you:
// … you are OK", "That PIN is not right", "The alarm is over" stayed above a new "Are you OK?",
// and a frightened walker may think she has answered it already (an outside review). An SOS
// still on its way (kept: sos.js) stays said.
function forgetEarlier() {
  for (const id of ["said", "done"]) {
    const notice = byId(id);
    if (notice) notice.hidden = true;
  }
  document.dispatchEvent(new CustomEvent("wwm:asked"));
}

// Her tab says the question while it waits (another tab, a locked phone's list of tabs), and
// the phone buzzes where it can: at night she may have a minute to answer.
const calmTitle = () => `${byId("headline").textContent} · Walk With Me`;
let askedTitle = check.hidden || locked ? null : check.dataset.tabTitle || null;
// A companion's "Are you OK?" or "Call me" next (heard.js); in an alarm, its headline.
const inAlarmNow = () => document.body.className.includes("state-alarm");
const heardTitle = keepHeard({
  box: byId("heard"),
  tables,
  me: data.me,
  tz: data.tz,
  onTitle: () => sayTitle(),
});
function sayTitle() {
  const title = askedTitle || (!inAlarmNow() && heardTitle()) || calmTitle();
  if (document.title !== title) document.title = title;
}
// walk.js writes the headline into the title as the walk changes: the question stays first.
new MutationObserver(sayTitle).observe(document.querySelector("title"), { childList: true });

function answered() {
  sayTimeLeft(null);
  check.hidden = true;
  pin.value = "";
  byId("pin-count").textContent = "";
  askedTitle = null;
  sayTitle();
}

// A PIN refused at the top ("That PIN is not right. Try again.") stood there after the
// question was answered elsewhere or taken back (an outside review): what became of it is
// said in its place, in the timeline's words ("Your phone is reporting again: “Are you OK?”
// is taken back").
function sayWhatBecameOfIt(item) {
  const said = byId("said");
  if (!said || said.hidden || !("pin" in said.dataset)) return;
  const parts = [...item.childNodes].filter((node) => !node.classList?.contains("when"));
  said.textContent = words.fullStop(parts.map((node) => node.textContent).join("").trim());
  said.classList.replace("bad", "good");
  said.setAttribute("role", "status");
}

function asked(item) {
  forgetEarlier();
  check.hidden = false;
  byId("check-title").textContent = "Are you OK?";
  // Why she is asked, as the page says it when loaded (words.reason: the same words).
  const reason = item.dataset.reason;
  const why = reason ? `We asked because: ${words.reason(tables, reason)}. ` : "";
  const by = Number(item.dataset.answerBy);
  const at = by ? words.clockTime(by, data.tz) : null;
  const until = at ? ` Answer by ${at}: after that, they are alerted.` : "";
  byId("check-why").textContent = `${why}Enter your PIN to tell the people following your walk.${until}`;
  askedTitle = at ? `Are you OK? Answer by ${at}` : "Are you OK?";
  sayTimeLeft(by);
  sayTitle();
  if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
  pin.focus();
}

function watchTheWalk() {
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const item of change.addedNodes) {
        if (!(item instanceof HTMLElement)) continue;
        const kind = [...item.classList].find((name) => name.startsWith("kind-"));
        if (kind === "kind-alarm" && item.dataset.reason === "wrong_pins") {
          locked = true;
          showLocked();
        } else if (kind === "kind-alarm") {
          forgetEarlier(); // a new alarm: not what her last answer met
        }
        if (kind === "kind-check") asked(item);
        // Answered (here, on the check's own page, with more time), or taken back (her phone
        // reports again, she is getting closer): the question goes. (More time during an
        // alarm does not end the alarm: its pad stays.)
        if (kind === "kind-check_answered" || kind === "kind-check_withdrawn") {
          answered();
          sayWhatBecameOfIt(item);
        }
        if (kind === "kind-extended" && !inAlarmNow()) answered();
      }
    }
  }).observe(byId("timeline"), { childList: true });
  let inAlarm = document.body.className.includes("state-alarm");
  let stateWas = document.body.className;
  new MutationObserver(() => {
    const state = document.body.className;
    // "Thank you: … you are OK" was of the walk as it was: it stood at her door 8 minutes on.
    const done = byId("done");
    if (done && state !== stateWas) done.hidden = true;
    stateWas = state;
    if (state.includes("state-safe") || state.includes("state-ended")) {
      stopReporting();
      answered();
    } else if (state.includes("state-alarm") && locked) {
      showLocked();
    } else if (state.includes("state-alarm")) {
      check.hidden = false;
      byId("check-title").textContent = "If you are OK, say so"; // as the page loads in an alarm
      // Not why she was asked before: the alarm is what her PIN ends now.
      byId("check-why").textContent = "Enter your PIN to tell the people following your walk.";
      sayTimeLeft(null); // its time is up: the alarm is what her PIN ends now
      askedTitle = null;
      sayTitle();
    } else if (inAlarm) {
      // The alarm is over (resolved: its question with it): the pad goes, without a reload,
      // and is there again for the next question.
      answered();
      locked = false;
      okForm.hidden = false;
      for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = false;
    }
    inAlarm = state.includes("state-alarm");
  }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
}

// -- without a network: her messages wait (waiting_messages.js) -------------------------
const sendMessages = keepMessages({ walkId: data.walk_id, csrf: data.csrf, retryMs: RETRY_MS });

// A PIN refused: her focus back in the field she gave it in (it was at the page's start).
const refusedIn = "pin" in (byId("said")?.dataset ?? {}) && byId(`${byId("said").dataset.pin}-pin`);
if (refusedIn && !refusedIn.closest("[hidden]")) refusedIn.focus();
watchTheWalk();
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
