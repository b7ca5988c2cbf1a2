// Picking a new place on the map (pick_map.js), with the radius she types drawn around it.

import { pickOnMap } from "./pick_map.js";

const radius = document.getElementById("radius");
const picker = pickOnMap({
  element: document.getElementById("place-map"),
  where: document.getElementById("where"),
  said: document.getElementById("map-said"),
  radius: () => Number(radius.value) || 40,
});
if (picker) radius.addEventListener("input", picker.redraw);
