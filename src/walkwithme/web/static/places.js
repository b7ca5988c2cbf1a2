// Picking a new place on the map (pick_map.js), with the radius she types drawn around it.

import { pickOnMap } from "./pick_map.js";
import { findStreets } from "./street_find.js";

const radius = document.getElementById("radius");
const picker = pickOnMap({
  element: document.getElementById("place-map"),
  where: document.getElementById("where"),
  said: document.getElementById("map-said"),
  radius: () => Number(radius.value) || 40,
});
if (picker) radius.addEventListener("input", picker.redraw);
if (picker) findStreets(picker.goTo);

// "Here, where I am now": her position, asked of her browser on her tap, as the place.
const here = document.getElementById("here-now");
const where = document.getElementById("where");
const said = document.getElementById("map-said");
if (here && navigator.geolocation) {
  here.hidden = false;
  here.addEventListener("click", () => {
    if (said) said.textContent = "Looking for where you are…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const { latitude, longitude } = position.coords;
        if (picker) {
          picker.chooseHere(latitude, longitude); // drawn, and said by its streets
          return;
        }
        where.value = `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`;
        if (said) said.textContent = "Chosen: where you are now.";
      },
      () => {
        if (said) said.textContent = "This browser did not say where you are: allow location for this site, or tap the map.";
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
    );
  });
}
