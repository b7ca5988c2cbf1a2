// The walk page, live: one LiveWalk feeds the map, the facts, the timeline and the alarm
// banner. The page was complete before this ran (server-rendered); this keeps it current.

import { LiveWalk } from "./live.js";
import { WalkMap } from "./map.js";
import * as words from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const tables = data.words;
const byId = (id) => document.getElementById(id);
let view = data.view;
const name = view.walker.name;
// Her own walk page (walker_walk.html) runs this script too: what it says there is said to her.
const herOwn = document.body.classList.contains("walker");

// "3 min ago" by the service's clock, not this device's (they differ, and a drill runs fast).
let offset = data.now - Date.now();
const serviceNow = () => Date.now() + offset;
let syncing = null;
let again = false;
async function askTheClock() {
  try {
    const answer = await fetch("/api/now", { cache: "no-store" });
    if (answer.ok) offset = (await answer.json()).now - Date.now();
  } catch {
    // offline: keep the last offset
  }
}
// One question at a time, and one more if news came while it was asked: a burst of fixes
// costs two requests, not one each.
function syncClock() {
  if (syncing) {
    again = true;
    return syncing;
  }
  syncing = askTheClock().then(() => {
    syncing = null;
    refreshTimes();
    if (again) {
      again = false;
      return syncClock();
    }
  });
  return syncing;
}

// The page's title says what the headline says: a screen reader reads it when she comes back
// to the tab, and a tab's name is all that shows of it among others.
function setHeadline(text) {
  byId("headline").textContent = text;
  document.title = `${text} · Walk With Me`;
}

function refreshTimes() {
  const now = serviceNow();
  for (const element of document.querySelectorAll("[data-at]")) {
    element.textContent = words.when(Number(element.dataset.at), now, data.tz);
  }
  const seen = byId("last-seen");
  if (seen && seen.dataset.at) {
    const shade = words.ageClass(Number(seen.dataset.at), now, words.silentS(view));
    seen.classList.toggle("amber", shade === "amber");
    seen.classList.toggle("red", shade === "red");
  }
  const expected = byId("expected");
  if (expected) {
    const late = words.lateBy(view, now);
    expected.textContent = words.clockTime(view.expected_at, data.tz) + (late ? `, ${late}` : "");
    expected.classList.toggle("late", Boolean(late));
  }
  showBadge(now);
}

// The badge beside "Last seen": whether her positions are arriving, not only whether this
// page is connected. "Live" only while connected and her last position is fresh; connected
// but without news, how long there has been none (amber, then red as the silence grows).
const LINK_SAID = {
  connecting: "Connecting…",
  offline: "Offline: trying again",
  closed: "Not live any more",
  signed_out: "Signed out: sign in again to follow",
  refused: "You can no longer see this walk",
};
let link = null; // the live connection's state; null before the script connects
function showBadge(now = serviceNow()) {
  const pill = byId("connection");
  if (!pill || link === null) return;
  if (link !== "live") {
    pill.textContent = LINK_SAID[link];
    pill.className = `pill ${link}`;
    return;
  }
  const last = view.last_position;
  if (!last) {
    pill.textContent = "No position yet";
    pill.className = "pill amber";
    return;
  }
  const shade = words.ageClass(last.t, now, words.silentS(view));
  pill.textContent = shade ? `No position for ${words.duration(now - last.t)}` : "Live";
  pill.className = `pill ${shade || "live"}`;
}

// -- distance left: along the route from the point of it nearest to her, else straight ------
function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad * Math.cos(((a[0] + b[0]) / 2) * rad);
  return 6371000 * Math.hypot(dLat, dLon);
}
let route = null;
function distanceLeft(position) {
  const dest = view.destination;
  if (!dest || !position) return null;
  const here = [position.lat, position.lon];
  if (!route || route.length < 2) return metresBetween(here, [dest.lat, dest.lon]);
  let best = 0;
  for (let i = 1; i < route.length; i++) {
    if (metresBetween(here, route[i]) < metresBetween(here, route[best])) best = i;
  }
  let along = metresBetween(here, route[best]);
  for (let i = best + 1; i < route.length; i++) along += metresBetween(route[i - 1], route[i]);
  return along;
}

// -- the parts of the page ----------------------------------------------------------------
let map = null;
const NEAR_UNTIL_M = 30;
function showPosition(position) {
  if (!position || !view.live) return;
  // The alarm's "No position yet", made before the first position came, says it now, as
  // the page would have said it (walk.html): when, how precisely, and where she is going.
  const alarmLast = byId("alarm-last");
  if (alarmLast && !alarmLast.querySelector("[data-at]")) {
    const at = document.createElement("span");
    at.dataset.at = position.t;
    if (herOwn) {
      alarmLast.replaceChildren("Your last position: ", at, ".");
    } else {
      const within = document.createElement("span");
      within.className = "within";
      const to = view.destination && view.destination.name;
      alarmLast.replaceChildren("Last seen ", at, within, to ? `, going to ${to}.` : ".");
    }
  }
  for (const seen of [byId("last-seen"), document.querySelector("#alarm-last [data-at]")]) {
    if (seen) seen.dataset.at = position.t;
  }
  const within = document.querySelector("#alarm-last .within");
  if (within) within.textContent = position.accuracy ? `, within ${words.metres(position.accuracy)}` : "";
  // The streets named when the page was made: hidden once she is seen elsewhere.
  for (const near of document.querySelectorAll(".near[data-lat]")) {
    const there = [Number(near.dataset.lat), Number(near.dataset.lon)];
    if (metresBetween([position.lat, position.lon], there) > NEAR_UNTIL_M) near.hidden = true;
  }
  const battery = byId("battery");
  if (battery && position.battery !== null && position.battery !== undefined) {
    battery.textContent = `${Math.round(position.battery)}%`;
  }
  const left = byId("distance-left");
  if (left) {
    const distance = distanceLeft(position);
    left.textContent = distance === null ? "no destination" : words.metres(distance);
  }
  if (map) map.setPosition(position);
  refreshTimes();
  // Her page says whether another device of hers is what shares her position (walker.js).
  document.dispatchEvent(new CustomEvent("wwm:position", { detail: position }));
}

function addToTimeline(event) {
  const item = document.createElement("li");
  item.className = `kind-${event.kind}`;
  if (event.reason) item.dataset.reason = event.reason; // her page's "Are you OK?" says why
  const time = document.createElement("span");
  time.className = "when";
  time.dataset.at = event.at;
  item.append(time, " ", words.eventSentence(tables, event, name, data.me));
  byId("timeline").prepend(item);
}

// An element hidden with the focus in it (the alarm's banner, as "Mark safe" is answered)
// would leave a keyboard or a screen reader at the page's start: the focus goes to what was
// said of it, or to the headline.
function hideKeepingFocus(element) {
  const had = element.contains(document.activeElement);
  element.hidden = true;
  if (!had) return;
  const said = byId("acted");
  const next = said && !said.hidden ? said : byId("headline");
  next.tabIndex = -1;
  next.focus();
}

// Who said "I'm on it" during this alarm, from the page as served on.
const helpers = [...(data.on_it || [])];
function updateBanner(event) {
  const banner = byId("alarm");
  // What her devices are shown after her duress PIN (`cover`) is not the walk's own alarm:
  // the silent one goes on through it.
  if (event.cover) return;
  const onItButton = byId("on-it");
  if (event.kind === "alarm" || event.kind === "sos") {
    // Her SOS during the alarm is the same alarm: whoever is on it still is; so are wrong
    // PINs during it (`during`), which only make it one no PIN ends.
    if (event.kind === "alarm" && !event.during) {
      helpers.length = 0;
      if (onItButton) onItButton.textContent = "I'm on it";
    }
    const why = words.reason(tables, event.reason || event.kind);
    const said = byId("alarm-reason");
    if (event.during && said.textContent) {
      // Wrong PINs during the alarm: said after why it began ("SOS pressed, then wrong PIN
      // three times"), as the page says it when loaded.
      if (!said.textContent.endsWith(why)) said.textContent = `${said.textContent}, then ${why}`;
    } else {
      said.textContent = why.charAt(0).toUpperCase() + why.slice(1);
    }
    // Wrong PINs during the alarm change its reason, not its time: it is the same alarm.
    if (!event.during) byId("alarm-since").dataset.at = event.at;
    byId("alarm-on-it").textContent = words.onIt(helpers);
    // After her duress PIN, a message would show on the phone someone else may hold.
    const silent = event.reason === "duress" || Boolean(view.duress);
    byId("alarm-silent").hidden = !silent;
    const replies = document.querySelector(".replies");
    if (replies && silent) replies.hidden = true;
    for (const call of document.querySelectorAll(".call")) call.hidden = silent;
    banner.hidden = false;
    refreshTimes(); // "Since 23:31, just now" at once, not a bare "Since" until the next tick
  } else if (event.kind === "alarm_acknowledged") {
    const who = words.person(event.by, data.me);
    if (!helpers.includes(who)) helpers.push(who);
    byId("alarm-on-it").textContent = words.onIt(helpers);
    // Her page's button says it was said (pressed again, it says it again).
    if (who === "You" && onItButton) onItButton.textContent = "You're on it ✓";
  } else if (event.kind === "alarm_resolved") {
    hideKeepingFocus(banner);
    // Through a link, her phone number is for the alarm alone (privacy.md): it goes with it.
    if (data.by_link) for (const call of document.querySelectorAll(".call")) call.remove();
    const over = byId("alarm-over");
    if (over) {
      const by = event.by && event.by.name ? `: ${event.by.name} ended it` : "";
      over.textContent = `The alarm is over${by}.`;
      over.hidden = false;
    }
    // Her own page: what her SOS said gives way to who ended the alarm (her SOS button is
    // there again, should she need it).
    const sent = byId("sos-sent");
    if (sent) {
      const by = event.by && event.by.name ? `: ${event.by.name} ended it` : "";
      sent.textContent = `The alarm is over${by}.`;
      sent.classList.remove("bad");
      sent.hidden = false;
    }
  }
}

let lastWord = null; // how she ended the walk, with her note
function updateWalk(walk) {
  const position = view.last_position;
  view = { ...walk, last_position: walk.last_position || position };
  document.body.className = `walk${herOwn ? " walker" : ""} state-${walk.state}`;
  setHeadline(words.stateSentence(tables, walk.state, name));
  placeInside(walk.state);
  refreshTimes(); // "Expected by", late or not, and the badge
  if (!walk.live) endOfWalk(walk);
}

// Her page: at her door, "I'm inside" comes first, the one thing left to do; elsewhere after
// the walk's facts (walker_walk.html places it the same way).
function placeInside(state) {
  const form = byId("inside-form");
  const facts = byId("facts");
  if (!form || !facts) return;
  if (state === "at_door") byId("offline-said").after(form);
  else facts.after(form);
}

// When the walk ends, the page says how, and shows nothing more of where she was.
function endOfWalk(walk) {
  hideWhereSheWas(["map", "status", "alarm"]);
  sayEnding();
}

// The map, her position and the facts go; `ids`: what else is hidden. The ending's words
// take their place.
function hideWhereSheWas(ids) {
  if (map) map.remove();
  map = null;
  for (const id of ids) {
    const element = byId(id);
    if (element) element.hidden = true;
  }
  for (const selector of [".facts", ".legend", ".replies", "#replied"]) {
    const element = document.querySelector(selector);
    if (element) element.remove();
  }
  if (!byId("ending")) {
    const ending = document.createElement("p");
    ending.id = "ending";
    ending.className = "big";
    byId("headline").after(ending);
  }
  byId("ending").setAttribute("role", "status"); // what took their place is read out
  // And the way on, as the page opened again shows it (not through a link: no account).
  if (!byId("back-home") && !data.live.startsWith("/api/share/")) {
    const back = document.createElement("p");
    back.id = "back-home";
    const home = document.createElement("a");
    home.href = "/";
    home.textContent = "Back to your page";
    back.append(home);
    byId("ending").after(back);
  }
}

function sayEnding() {
  const ending = byId("ending");
  if (!ending) return;
  const who = (lastWord && lastWord.by && lastWord.by.name) || name; // she, or who found her
  const said = lastWord && lastWord.note ? ` ${words.fullStop(`${who} said: “${lastWord.note}”`)}` : "";
  ending.textContent = `The walk is over.${said} Where ${name} was is no longer shown.`;
}

function showConnection(status) {
  link = status.state;
  showBadge();
  if (status.state === "live") syncClock();
  if (status.state === "signed_out") {
    signedOut();
  } else if (status.state === "refused") {
    // No longer to be seen here: nothing more of where she was stays on the screen.
    hideWhereSheWas(["map", "status", "alarm"]);
    setHeadline(herOwn ? "This walk is over" : `You can no longer see ${name}'s walk`);
    byId("ending").textContent = herOwn
      ? "It is no longer shown here."
      : `It is over, or no longer shared with you. Where ${name} was is no longer shown.`;
  }
}

// Signed out (a password changed on another phone, the operator's reset, or a sign-in that
// ran out): nothing of where she was stays on this screen, and one thing to do: sign in
// again, and come back to this page. An alarm stays said (what, since when, who is on it,
// and not to call her after her duress PIN), without where she was.
function signedOut() {
  hideWhereSheWas(["map", "status", "alarm-last", "walker-actions", "sos-form", "check"]);
  for (const form of document.querySelectorAll("#alarm form")) form.hidden = true;
  if (herOwn) {
    setHeadline("Sign in again to go on with your walk");
    byId("ending").textContent =
      "You were signed out: this page no longer shares where you are. Sign in again, or use your phone app.";
  } else {
    setHeadline(`Sign in again to follow ${name}'s walk`);
    byId("ending").textContent = `You were signed out. Where ${name} is shows again once you sign in.`;
  }
  // In an alarm the headline and the banner stay one red block; the words come after it.
  const alarm = byId("alarm");
  if (alarm && !alarm.hidden) alarm.after(byId("ending"));
  if (byId("sign-in-again")) return;
  const again = document.createElement("a");
  again.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
  again.className = "button primary";
  again.id = "sign-in-again";
  again.textContent = "Sign in again";
  byId("ending").after(again);
}

async function loadMap() {
  const element = byId("map");
  if (!element || !window.L) return;
  map = new WalkMap(element, data.tiles);
  map.setDestination(view.destination);
  map.addFixes(data.fixes);
  showPosition(view.last_position);
  await loadBackground();
}

// The route home is drawn from where the walk started, else from her first position: a walk
// started without a starting point (one she accepted from an offer) has none until that
// position comes, so the background is asked for again then, once.
let backgroundAgain = false;
function backgroundLater() {
  if (backgroundAgain || route || !map || !view.destination) return;
  backgroundAgain = true;
  loadBackground();
}

async function loadBackground() {
  try {
    const answer = await fetch(data.map, { cache: "no-store" });
    if (!answer.ok) return;
    const background = await answer.json();
    if (!map) return;
    map.setStreets(background.streets);
    route = background.route;
    map.setRoute(route);
    showPosition(view.last_position);
  } catch {
    // no background: the track and position are still drawn
  }
}

if (view.live) {
  loadMap();
  const live = new LiveWalk(data.live, data.last_event, data.fixes.at(-1)?.id ?? 0);
  live
    .on("status", showConnection)
    .on("walk", (walk) => {
      updateWalk(walk);
      syncClock(); // the service's clock may have jumped (a drill)
    })
    .on("event", (event) => {
      if (event.kind === "inside" || event.kind === "ended") {
        lastWord = event; // (it comes after the walk's summary that says it is over)
        sayEnding();
      }
      addToTimeline(event);
      updateBanner(event);
      syncClock();
    })
    .on("fix", (fix) => {
      if (map) map.addFixes([fix]);
      const last = view.last_position;
      if (!last || fix.t >= last.t) {
        view.last_position = fix;
        showPosition(fix);
      }
      backgroundLater();
      syncClock();
    })
    .start();
  setInterval(refreshTimes, 1000);
  setInterval(syncClock, 15000);
}
refreshTimes();

// -- his other walks' alarms ---------------------------------------------------------------
// Following one walk, he would not see another's alarm without his home page or an alert:
// this page asks every 20 s (and when it is looked at again) and says each, with its link.
const OTHERS_EVERY_MS = 20000;
let othersSaid = "[]"; // what the notice says now: rebuilt (and said again, role=alert) on news only
async function otherAlarms() {
  const said = byId("other-alarms");
  if (!said || !data.needs_you) return;
  let found = [];
  try {
    const answer = await fetch(data.needs_you, { headers: { accept: "application/json" } });
    // Signed out meanwhile: nothing is known of his other walks any more, so nothing is said.
    if (answer.ok) found = (await answer.json()).filter((walk) => walk.id !== view.id);
  } catch {
    return; // offline: the connection's own badge says so; what was said stays
  }
  const news = JSON.stringify(found);
  if (news === othersSaid) return;
  othersSaid = news;
  said.replaceChildren(
    ...found.map((walk) => {
      const line = document.createElement("p");
      const open = document.createElement("a");
      open.href = `/walks/${walk.id}`;
      open.className = "button primary";
      open.textContent = `Open ${walk.name}'s walk`;
      const why = walk.why ? `: ${walk.why}, since ${walk.alarm_since}` : "";
      line.append(`${walk.sentence}${why}. `, open);
      return line;
    }),
  );
  said.hidden = found.length === 0;
}
if (data.needs_you) {
  otherAlarms();
  setInterval(otherAlarms, OTHERS_EVERY_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") otherAlarms();
  });
}
