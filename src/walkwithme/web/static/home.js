// His home page keeps what he follows current: a companion who waits on his home page for her
// to get home must see her alarm there when it comes, not on his next reload (an outside
// review: 25 s after her SOS it still said "Mira is on the way"). It asks every 15 s (and when
// the page is looked at again, or the network is back) for every walk he follows now, calm or
// in alarm (`/needs-you?all=1`: who, how it goes and since when, never where), and rebuilds
// "Needs you now" and "Walks you follow now" from the answer: a walk that starts comes in, a
// walk that is over goes. An alarm that comes is said once to a screen reader (role=alert)
// and the tab's title starts with "ALARM". Its "... ago" counts up by the service's clock.
// When the page can't ask (signed out, no network, the service not answering) it says so at
// the top, in sight however far he has scrolled, until it can again.

import { ServiceClock } from "./service_clock.js";
import { keepShort } from "./sticky.js";
import * as words from "./words.js";

const EVERY_MS = 15000;
const TICK_MS = 1000;
const data = JSON.parse(document.getElementById("home-data").textContent);
const byId = (id) => document.getElementById(id);
const main = byId("main");
// (In an alarm, the tab says whose: "ALARM: Mira · Your walks · Walk With Me".)
const title = document.title.replace(/^ALARM: .*? · (?=Your walks)/, "");

// "3 min ago" by the service's clock, not this device's (they differ); set again by each answer.
const clock = new ServiceClock(data.now);
const serviceNow = () => clock.now();
let lastAnswer = data.now; // when the page last knew how things were (the service's time)

function refreshTimes() {
  const now = serviceNow();
  words.sayTimes(main, now, data.tz);
}

const idOf = (card) => Number(card.getAttribute("href").split("/").pop());
const followingSection = () => document.querySelector('section[aria-labelledby="following"]');

// What the page shows now: each walk's id and, in an alarm, why (what is news when it changes).
function shownNow() {
  const alarms = [...document.querySelectorAll("#alarms a.card")].map((card) => ({
    id: idOf(card),
    why: card.dataset.why || null,
  }));
  const section = followingSection();
  const cards = section ? [...section.querySelectorAll("a.card")] : [];
  const calm = cards.map(idOf);
  const asked = new Map(cards.filter((card) => card.dataset.asked).map((card) => [idOf(card), card.dataset.asked]));
  return { alarms, ids: new Set([...alarms.map((walk) => walk.id), ...calm]), asked };
}
let known = shownNow();

function time(at, said) {
  const span = document.createElement("span");
  if (at !== null && at !== undefined) {
    span.dataset.at = at;
    span.textContent = words.when(at, serviceNow(), data.tz);
  } else {
    span.textContent = said;
  }
  return span;
}

function card(walk) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.className = walk.alarm ? "card alarm" : "card";
  link.href = `/walks/${walk.id}`;
  const strong = document.createElement("strong");
  strong.textContent = walk.sentence;
  const span = document.createElement("span");
  if (walk.alarm) {
    link.dataset.why = walk.why || "";
    const why = walk.why ? `${walk.why.charAt(0).toUpperCase()}${walk.why.slice(1)}, since` : "Since";
    span.append(`${why} `, time(walk.alarm_at, "now"), ".");
    const act = document.createElement("span");
    act.className = "act";
    act.textContent = `Open ${walk.name}'s walk`;
    link.append(strong, span, act);
  } else {
    span.append("Started ", time(walk.started_at, "now"));
    link.append(strong, span);
    if (walk.asked) {
      // Her "Are you OK?" waiting for her answer: a call now may be what she needs.
      link.classList.add("asked");
      link.dataset.asked = walk.asked;
      const asked = document.createElement("span");
      asked.className = "asked";
      asked.textContent = walk.asked;
      link.append(asked);
    }
  }
  item.append(link);
  return item;
}

function showAlarms(alarms) {
  let section = byId("alarms");
  if (alarms.length === 0) {
    if (section) section.remove();
    document.title = title;
    return;
  }
  if (!section) {
    section = document.createElement("section");
    section.id = "alarms";
    section.setAttribute("aria-labelledby", "needs-you");
    const heading = document.createElement("h2");
    heading.id = "needs-you";
    heading.textContent = "Needs you now";
    const list = document.createElement("ul");
    list.className = "cards";
    section.append(heading, list);
    (byId("done") || main.querySelector("h1")).after(section);
  }
  section.querySelector("ul").replaceChildren(...alarms.map(card));
  document.title = `ALARM: ${alarms.map((walk) => walk.name).join(", ")} · ${title}`;
}

// `instead`: what the list says when it can't be known (signed out: "on the way" would be a
// guess, and whoever holds the phone now may not be him).
function showCalm(calm, alarms, instead = null) {
  const section = followingSection();
  if (!section) return;
  let list = section.querySelector("ul.cards");
  if (!list) {
    list = document.createElement("ul");
    list.className = "cards";
    section.querySelector("h2").after(list);
  }
  list.replaceChildren(...calm.map(card));
  list.hidden = calm.length === 0;
  let said = section.querySelector(":scope > p");
  if (!said) {
    said = document.createElement("p");
    section.append(said);
  }
  said.hidden = calm.length > 0;
  if (instead) said.textContent = instead;
  else if (alarms.length === 1) said.textContent = "Only the walk above, in its alarm.";
  else if (alarms.length) said.textContent = "Only the walks above, in their alarm.";
  else said.textContent = section.dataset.none;
  // A walk he follows comes before his own part of the page (as the service puts it).
  const own = document.querySelector("section.walker-home");
  const below = own && own.compareDocumentPosition(section) & Node.DOCUMENT_POSITION_FOLLOWING;
  if (calm.length + alarms.length > 0 && below) own.before(section);
}

// Said once, as it comes: an alarm (or a new reason for one) loudly, a walk that starts politely.
function sayNews(alarms, walks) {
  // (What was said is cleared at the next look: it would be found there, out of date.)
  const before = new Map(known.alarms.map((walk) => [walk.id, walk.why]));
  const fresh = alarms.filter((walk) => !before.has(walk.id) || before.get(walk.id) !== walk.why);
  byId("alarm-said").textContent = fresh
    .map((walk) => `${walk.sentence}${walk.why ? `: ${walk.why}` : ""}.`)
    .join(" ");
  const started = walks.filter((walk) => !walk.alarm && !known.ids.has(walk.id));
  // A question she was asked since, said with the walks that started.
  const asked = walks.filter((walk) => walk.asked && known.asked.get(walk.id) !== walk.asked);
  byId("walks-said").textContent = [
    ...started.filter((walk) => !walk.asked).map((walk) => `${walk.sentence}.`),
    ...asked.map((walk) => walk.asked),
  ].join(" ");
  known = {
    alarms: alarms.map((walk) => ({ id: walk.id, why: walk.why })),
    ids: new Set(walks.map((walk) => walk.id)),
    asked: new Map(walks.filter((walk) => walk.asked).map((walk) => [walk.id, walk.asked])),
  };
}

function show(walks) {
  // His own "Walk me home" is a plain button while he follows a walk (walker_home.html).
  for (const own of document.querySelectorAll("[data-calm]")) {
    own.classList.toggle(own.dataset.calm, walks.length === 0);
  }
  const alarms = walks.filter((walk) => walk.alarm);
  const calm = walks.filter((walk) => !walk.alarm);
  sayNews(alarms, walks);
  showAlarms(alarms);
  showCalm(calm, alarms);
}

// What the page can't do, at its top: one notice at a time, gone when a look works again.
function trouble(kind) {
  const signedOut = byId("signed-out");
  const offline = byId("offline");
  if (kind === "signed-out") {
    if (signedOut.hidden) {
      const said = document.createElement("p");
      const strong = document.createElement("strong");
      strong.textContent = "You were signed out:";
      said.append(
        strong,
        " sign in again to hear of alarms here. Until then this page shows no new alarm, and what is below may be out of date.",
      );
      const again = document.createElement("a");
      again.className = "button primary";
      again.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
      again.textContent = "Sign in again";
      signedOut.replaceChildren(said, again);
      signedOut.hidden = false;
      showCalm([], [], "Signed out: how the walks you follow go shows again once you sign in.");
    }
  } else {
    signedOut.hidden = true;
    signedOut.replaceChildren();
  }
  if (kind === "offline" || kind === "unanswered") {
    const at = words.clockTime(lastAnswer, data.tz);
    const said =
      kind === "offline"
        ? `No network: this page can't show new alarms until it is back (last checked at ${at}).`
        : `The service is not answering: this page can't show new alarms until it does (last checked at ${at}).`;
    if (offline.textContent !== said) offline.textContent = said;
    offline.hidden = false;
  } else {
    offline.hidden = true;
    offline.textContent = "";
  }
}

async function look() {
  let found;
  try {
    const answer = await fetch("/needs-you?all=1", {
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (answer.status === 401) return trouble("signed-out");
    if (!answer.ok) return trouble("unanswered");
    found = await answer.json();
  } catch {
    // No network, or a network that can't reach the service.
    return trouble(navigator.onLine === false ? "offline" : "unanswered");
  }
  trouble(null);
  clock.set(found.now);
  lastAnswer = found.now;
  show(found.walks);
  const unheard = byId("no-alerts");
  if (unheard && found.alerts) unheard.hidden = true; // a way for alerts was set up meanwhile
  refreshTimes();
}

refreshTimes();
setInterval(refreshTimes, TICK_MS);
setInterval(look, EVERY_MS);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") look();
});
window.addEventListener("online", look);
window.addEventListener("offline", () => trouble("offline"));
keepShort(byId("signed-out"));
keepShort(byId("offline"));
