// Starting a walk: the "nobody would hear an alarm" warning follows the companions she
// ticks, a place can be picked on the map, and where she starts from is taken from the
// browser if she already allowed it.

import { pickOnMap } from "./pick_map.js";
import { findStreets } from "./street_find.js";

const warning = document.getElementById("nobody-hears");
const boxes = [...document.querySelectorAll("input[type=checkbox][data-hears]")];

const said = warning.querySelector("strong");
const someone = said.textContent;
function judge() {
  const chosen = boxes.filter((box) => box.checked);
  warning.hidden = chosen.some((box) => box.dataset.hears === "1");
  // Nobody ticked is not "none of the companions you chose": it says what it is.
  said.textContent = chosen.length === 0 ? warning.dataset.nobodyChosen : someone;
}
for (const box of boxes) box.addEventListener("change", judge);
judge();

// "Nowhere in particular: check on me at a time" needs the time: its part of the form opens,
// where it was folded away under her PIN (an outside review chose the timer and saw no time).
const timeAsked = document.getElementById("check-at");
for (const choice of document.querySelectorAll('input[name="place"]')) {
  choice.addEventListener("change", () => {
    if (choice.value !== "timer" || !choice.checked || !timeAsked) return;
    const part = timeAsked.closest("details");
    if (part) part.open = true;
    timeAsked.scrollIntoView({ block: "center" });
  });
}

const typed = document.getElementById("coords");
const another = () => {
  document.getElementById("place-coords").checked = true;
};
typed.addEventListener("input", another);
const pickMap = pickOnMap({
  element: document.getElementById("place-map"),
  where: typed,
  said: document.getElementById("map-said"),
  picked: another,
});
if (pickMap) findStreets(pickMap.goTo);

async function whereFrom() {
  if (!navigator.geolocation || !navigator.permissions) return;
  try {
    const state = await navigator.permissions.query({ name: "geolocation" });
    if (state.state !== "granted") return; // asked on her walk page, with a reason, not here
  } catch {
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      document.getElementById("from-lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("from-lon").value = position.coords.longitude.toFixed(6);
      if (pickMap) pickMap.showHere(position.coords.latitude, position.coords.longitude);
    },
    () => {},
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
  );
}
whereFrom();

// Where she starts from tells how long the walk should take: asked once, when she starts,
// unless she said how many minutes (or chose a timer).
const form = document.getElementById("start-form");
let asked = false;
form.addEventListener("submit", (event) => {
  const timer = form.querySelector("input[name=place][value=timer]");
  const known =
    document.getElementById("from-lat").value ||
    document.getElementById("minutes").value ||
    document.getElementById("check-at").value ||
    (timer && timer.checked);
  if (known || asked || !navigator.geolocation) return;
  event.preventDefault();
  asked = true;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      document.getElementById("from-lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("from-lon").value = position.coords.longitude.toFixed(6);
      form.requestSubmit();
    },
    () => askMinutes(),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});

// Her browser would not say where she is (location not allowed, or no fix): asked here, by
// the field that can stand in for it, with all she typed kept. Sent on, the service said so
// at the top of the page and her PINs were gone (a review of a first walk).
function askMinutes() {
  const minutes = document.getElementById("minutes");
  minutes.closest("details").open = true;
  let said = document.getElementById("no-location");
  if (!said) {
    said = document.createElement("p");
    said.id = "no-location";
    said.className = "field-error";
    said.setAttribute("role", "alert");
    minutes.before(said);
  }
  said.textContent =
    "This browser did not say where you are: type how many minutes you expect to take, " +
    "then start again (or allow location for this site).";
  minutes.setAttribute("aria-describedby", "no-location");
  minutes.focus();
  asked = false; // once she types minutes, her next "Start" goes through
}
