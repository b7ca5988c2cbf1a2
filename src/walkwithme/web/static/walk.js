// The walk page, live: one LiveWalk feeds the map, the facts, the timeline and the alarm
// banner. The page was complete before this ran (server-rendered); this keeps it current.

import { alarmBanner } from "./alarm_banner.js";
import { Badge } from "./badge.js";
import { keepHeard } from "./heard.js";
import { LiveWalk } from "./live.js";
import { WalkMap } from "./map.js";
import { keepNear, metresBetween } from "./near.js";
import { watchOtherAlarms } from "./other_alarms.js";
import { keepShort } from "./sticky.js";
import { ServiceClock } from "./service_clock.js";
import { keepTypedIn } from "./typed.js";
import * as words from "./words.js";

const data = JSON.parse(document.getElementById("walk-data").textContent);
const tables = data.words;
const byId = (id) => document.getElementById(id);
let view = data.view;
const name = view.walker.name;
// Her own walk page (walker_walk.html) runs this script too: what it says there is said to her.
const herOwn = document.body.classList.contains("walker");

// His page: her newest words on his first screen, and "Call Mira" while she asks it.
if (!herOwn && byId("her-words") && view.walker.id !== undefined) {
  keepHeard({
    box: byId("her-words"),
    tables,
    me: data.me,
    tz: data.tz,
    onTitle: () => {},
    from: view.walker.id,
    call: byId("her-words-call"),
  });
}

// "3 min ago" by the service's clock, not this device's (they differ, and a drill runs fast).
const clock = new ServiceClock(data.now, () => refreshTimes());
const serviceNow = () => clock.now();
const syncClock = () => clock.sync();

// The page's title says what the headline says: a screen reader reads it when she comes back
// to the tab, and a tab's name is all that shows of it among others.
function setHeadline(text) {
  byId("headline").textContent = text;
  document.title = `${text} · Walk With Me`;
}

function refreshTimes() {
  const now = serviceNow();
  words.sayTimes(document, now, data.tz);
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

// The badge beside "Last seen", and that the page may be out of date (badge.js).
const badge = new Badge();
const showBadge = (now = serviceNow()) => badge.show(view, now);

// -- distance left: along the route from the point of it nearest to her, else straight ------
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
const followNear = keepNear(data.near_url); // the streets named near her (near.js)
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
      // "going to a place near Kaivokatu", a place tapped on the map being named so (it read
      // "going to near Kaivokatu": an outside review).
      const named = view.destination && view.destination.name;
      const to = named && named.startsWith("near ") ? `a place ${named}` : named;
      const near = document.createElement("span"); // named by near.js, as walk.html has it
      near.className = "near";
      near.hidden = true;
      alarmLast.replaceChildren("Last seen ", near, at, within, to ? `, going to ${to}.` : ".");
    }
  }
  for (const seen of [byId("last-seen"), document.querySelector("#alarm-last [data-at]")]) {
    if (seen) seen.dataset.at = position.t;
  }
  for (const within of document.querySelectorAll("#alarm-last .within, #alarm-where .within")) {
    within.textContent = position.accuracy ? `, within ${words.atMost(position.accuracy)}` : "";
  }
  followNear(position); // the streets named near where she was: hers now, or none
  // Where she is, for a map app and to read out (walk.html; words.py's geo_uri, coordinates).
  const at = `${position.lat.toFixed(5)},${position.lon.toFixed(5)}`;
  for (const link of document.querySelectorAll("[data-geo]")) link.href = `geo:${at}?q=${at}`;
  for (const said of document.querySelectorAll("[data-coords]")) said.textContent = at.replace(",", ", ");
  for (const id of ["alarm-where"]) if (byId(id)) byId(id).hidden = false;
  const where = document.querySelector(".facts .where");
  if (where) where.hidden = false;
  const battery = byId("battery");
  if (battery && position.battery !== null && position.battery !== undefined) {
    battery.textContent = `${Math.round(position.battery)}%`;
  }
  const left = byId("distance-left");
  // With a street map, the service measures it along the streets (near.js), as it did when
  // the page was served; measured here along the drawn route, the two differed.
  if (left && !data.near_url) {
    const distance = distanceLeft(position);
    left.textContent = distance === null ? "no destination" : words.metres(distance);
  }
  if (map) map.setPosition(position);
  refreshTimes();
  // Her page says whether another device of hers is what shares her position (walker.js).
  document.dispatchEvent(new CustomEvent("wwm:position", { detail: position }));
}

let duressBefore = Boolean(data.duress_before); // her duress PIN given: the next is "again"
function addToTimeline(event) {
  const item = document.createElement("li");
  item.className = `kind-${event.kind}`;
  if (event.reason) item.dataset.reason = event.reason; // her page's "Are you OK?" says why
  if (event.answer_by) item.dataset.answerBy = event.answer_by; // ...and by when
  const time = document.createElement("span");
  time.className = "when";
  time.dataset.at = event.at;
  item.append(time, " ", words.eventSentence(tables, event, name, data.me, duressBefore));
  duressBefore = duressBefore || words.duressGiven(event);
  byId("timeline").prepend(item);
  document.dispatchEvent(new CustomEvent("wwm:event", { detail: event })); // her page: heard.js
}

// The alarm's banner, kept current by what the walk's events say (alarm_banner.js).
const banner = alarmBanner({ data, tables, name, view: () => view, refreshTimes });

let lastWord = null; // how she ended the walk, with her note
let closing = null; // the walk's last "inside", "ended" or "alarm_resolved"
const sayState = () => {
  const inside = lastWord && lastWord.kind === "inside" ? lastWord : null;
  setHeadline(words.stateSentence(tables, words.headlineState(view, inside, closing), name));
};
function updateWalk(walk) {
  const position = view.last_position;
  view = { ...walk, last_position: walk.last_position || position };
  if (walk.duress) banner.goSilent(); // (her companions' view says so: her own never does)
  if (walk.over_for_her) {
    // Her duress PIN made her end the walk: marking her safe ends it too (walk.html).
    for (const [id, hidden] of [["goes-on", true], ["ends-too", false], ["stopped-sharing", false]]) {
      if (byId(id)) byId(id).hidden = hidden;
    }
    // ...and his note reaches no phone of hers then (the walk is over for them).
    if (byId("note-phone")) {
      byId("note-phone").hidden = true;
      byId("note").removeAttribute("aria-describedby");
    }
  }
  document.body.className = `walk${herOwn ? " walker" : ""} state-${walk.state}`;
  sayState();
  placeInside(walk.state);
  placeHerWords(walk.state);
  refreshTimes(); // "Expected by", late or not, and the badge
  if (!walk.live) endOfWalk(walk);
}

// His page: her newest words, in an alarm in its banner under where she was last seen, else
// under the headline (walk.html places them the same way).
function placeHerWords(state) {
  const words = byId("her-words");
  if (!words || herOwn) return;
  if (state === "alarm") byId("alarm-last").after(words);
  else (byId("her-words-call") || byId("page-connection"))?.before(words);
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
  badge.over = true;
  // (What was said of an alarm that ended earlier, "The alarm is over: Mira ended it", stood
  // under "Mira is home, inside": the ending says how it is now.)
  hideWhereSheWas(["map", "status", "alarm", "acted"]);
  sayEnding();
}

// The map, her position and the facts go; `ids`: what else is hidden. The ending's words
// take their place.
function hideWhereSheWas(ids) {
  // The focus in what goes (his "Mark safe" answered, then the walk over): to the ending, not
  // the page's start (an accessibility review).
  // Or where what he pressed put it meanwhile, as the walk's end and the answer to what he
  // did race: on the headline (the alarm's banner went first: hideKeepingFocus), or nowhere
  // (his button disabled while his form is sent: inplace.js).
  const active = document.activeElement;
  const sending = document.querySelector("form[data-in-place] button:disabled");
  const focused =
    ids.some((id) => byId(id)?.contains(active)) ||
    active === byId("headline") ||
    ((active === null || active === document.body) && sending !== null);
  if (map) map.remove();
  map = null;
  for (const id of ids) {
    const element = byId(id);
    if (element) {
      element.hidden = true;
      element.dataset.gone = ""; // not shown again by an answer that comes after (inplace.js)
    }
  }
  for (const selector of [".facts", ".legend", ".replies", "#replied", "#alarm-where"]) {
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
  if (focused) {
    byId("ending").tabIndex = -1;
    byId("ending").focus();
  }
  // And the way on, as the page opened again shows it (not through a link: no account).
  if (!byId("back-home") && !data.live.startsWith("/api/share/")) {
    const back = document.createElement("p");
    back.id = "back-home";
    const home = document.createElement("a");
    home.href = "/";
    home.className = "button"; // a target a finger finds, not a 21 px line of text
    home.textContent = "Back to your page";
    back.append(home);
    byId("ending").after(back);
  }
}

function sayEnding() {
  const ending = byId("ending");
  if (!ending) return;
  // Ended by whoever ended the alarm her duress PIN made her end the walk under: their word,
  // not hers ("Mira said: “Would you like to come in?”" told his page the story her phone
  // was made to tell).
  const word = closing && closing.kind === "alarm_resolved" ? closing : lastWord;
  // She, or who found her ("You" on his own page: it said "Noor said" to Noor).
  const who = word && word.by ? words.person(word.by, data.me) : name;
  const said = word && word.note ? ` ${words.fullStop(`${who} said: “${word.note}”`)}` : "";
  // Her own page says "you" (its name is only a stand-in: "Where You was" it said).
  const gone = herOwn ? "Where you were is no longer shown." : `Where ${name} was is no longer shown.`;
  ending.textContent = `The walk is over.${said} ${gone}`;
  // Ended by someone following it, not by her: her way to call for help stays (walker_walk).
  const notSafe = byId("not-safe");
  if (notSafe && word && word.by && word.by.id !== data.me) {
    ending.after(notSafe);
    notSafe.hidden = false;
  }
}

function showConnection(status) {
  badge.link = status.state;
  showBadge();
  if (status.state === "live") syncClock();
  if (status.state === "signed_out") {
    signedOut();
  } else if (status.state === "refused") {
    // No longer to be seen here: nothing more of where she was stays on the screen.
    // Its timeline too: a note may say where she was ("Found her at Aleksanterinkatu"), and
    // the page loaded again shows none of it.
    hideWhereSheWas(["map", "status", "alarm"]);
    byId("timeline")?.closest("section")?.remove();
    setHeadline(herOwn ? "This walk is over" : `You can no longer see ${name}'s walk`);
    // Through a link: not "It is over", which a stranger read as "she is safe" (a review).
    byId("ending").textContent = herOwn
      ? "It is no longer shown here."
      : data.by_link
        ? `This link no longer shows it: the walk has ended, or the link ran out. That says nothing of whether ${name} is safe.`
        : `It is over, or no longer shared with you. Where ${name} was is no longer shown.`;
  }
}

// Signed out (a password changed on another phone, the operator's reset, or a sign-in that
// ran out): nothing of where she was stays on this screen, and one thing to do: sign in
// again, and come back to this page. An alarm stays said (what, since when, who is on it,
// and not to call her after her duress PIN), without where she was.
function signedOut() {
  hideWhereSheWas(["map", "status", "alarm-last", "walker-actions", "sos-form", "check"]);
  for (const form of document.querySelectorAll("#alarm form")) {
    keepTypedIn(form); // his note, given back once he has signed in again
    form.hidden = true;
  }
  if (herOwn) {
    setHeadline("Sign in again to go on with your walk");
    byId("ending").textContent =
      "You were signed out: this page no longer shares where you are, and can't send SOS. Your walk goes on: sign in again, or use your phone app.";
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
  again.className = "button primary huge";
  again.id = "sign-in-again";
  again.textContent = "Sign in again";
  byId("ending").after(again);
  // Where she is looking: the page may be scrolled down to what she last did (an outside
  // review found her signed out with only the timeline in sight, and no SOS).
  byId("headline").scrollIntoView({ block: "start" });
  again.focus({ preventScroll: true });
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
    // No way there is drawn (no street map, or none found): the legend doesn't name one.
    const named = byId("legend-route");
    if (named) named.hidden = !route;
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
      if (["inside", "ended", "alarm_resolved"].includes(event.kind)) {
        closing = event;
        sayState();
        if (!view.live) sayEnding(); // (the walk's end may come before what ended it)
      }
      if (event.kind === "inside" || event.kind === "ended") {
        lastWord = event; // (it comes after the walk's summary that says it is over)
        sayState();
        sayEnding();
      }
      addToTimeline(event);
      banner.update(event);
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
watchOtherAlarms({ said: byId("other-alarms"), url: data.needs_you, thisWalk: view.id });
keepShort(byId("other-alarms"));
keepShort(byId("asked"));
