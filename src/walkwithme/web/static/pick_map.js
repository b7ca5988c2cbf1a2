// A map to pick a place on: the streets around (from the service's own street map; tiles only
// if the operator set WWM_TILES_URL), her places, and a tap that writes "latitude, longitude"
// into a field and draws the radius that counts as arriving. Used where a place is chosen
// (her places, starting a walk); without it, coordinates are typed.

/* global L */

// `none`: where to say that there is nothing to see here (no streets, and no tiles under
// them): without it, a place outside the service's street map was a blank grey box.
function streetsAround(map, layer, none) {
  let asked = 0;
  return async () => {
    const centre = map.getCenter();
    const mine = ++asked;
    const query = `lat=${centre.lat.toFixed(5)}&lon=${centre.lng.toFixed(5)}`;
    const answer = await fetch(`/api/map/streets?${query}`, { cache: "no-store" });
    if (!answer.ok || mine !== asked) return;
    const { streets } = await answer.json();
    layer.clearLayers();
    if (streets.length) {
      L.polyline(streets, { className: "street", interactive: false }).addTo(layer);
    }
    if (none) none.hidden = streets.length > 0;
  };
}

// Said where the map would be, over it: the map only opens with a street map or tiles, so
// with no tiles, no streets around is "the street map doesn't reach here".
function nothingHere(element) {
  const said = document.createElement("p");
  said.className = "map-empty";
  said.textContent = element.dataset.empty || "No street map here: type the place.";
  said.hidden = true;
  element.append(said);
  return said;
}

// Leaflet measures its box when the map is made, and when told: a map made folded away
// (starting a walk, her saved place chosen, "Another place" unfolds it) is told when its box
// opens, and opens where it was to show (`looking()`), not at its top left corner.
function toldWhenShown(element, map, looking) {
  if (!window.ResizeObserver) return;
  let seen = element.clientWidth > 0;
  new ResizeObserver(() => {
    if (element.clientWidth === 0 || element.clientHeight === 0) return;
    map.invalidateSize({ pan: false });
    if (!seen) map.setView(looking(), map.getZoom(), { animate: false });
    seen = true;
  }).observe(element);
}

// `element`: the map's box, with data-lat, data-lon (where it opens), data-tiles and
// data-places; `where`: the field to fill; `said`: where to say what was chosen, in words;
// `radius()`: the radius to draw, in metres; `picked()`: called after each pick.
function asText(words) {
  const said = document.createElement("span");
  said.textContent = words;
  return said;
}

// Where she tapped, in words: the streets nearest it ("Chosen on the map: near Kaivokatu"),
// not its coordinates, which said nothing to her. `mine`/`latest`: only the last tap's answer.
async function sayNear(said, latlng, mine, latest, how) {
  const query = `lat=${latlng.lat.toFixed(5)}&lon=${latlng.lng.toFixed(5)}`;
  try {
    const answer = await fetch(`/api/map/named?${query}`, { cache: "no-store" });
    if (!answer.ok || mine !== latest()) return;
    const { near } = await answer.json();
    if (near) said.textContent = `${how}: near ${near}.`;
  } catch {
    // Offline: "Chosen on the map." stands, and the circle shows where.
  }
}

export function pickOnMap({ element, where, said, radius = () => 40, picked = () => {} }) {
  if (!element || !where || !window.L) return null;
  const centre = [Number(element.dataset.lat), Number(element.dataset.lon)];
  const tiles = element.dataset.tiles;
  element.hidden = false; // before Leaflet measures it
  const map = L.map(element, { attributionControl: Boolean(tiles), zoomSnap: 0.5 });
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  const streets = L.layerGroup().addTo(map);
  for (const place of JSON.parse(element.dataset.places || "[]")) {
    // Named on the map, not on hover (a phone has none); not a stop for the keyboard (each
    // was, the one off the view an empty one), and a tap on it picks that place.
    L.circle([place.lat, place.lon], {
      radius: place.radius,
      className: "destination",
      interactive: false,
    })
      .bindTooltip(asText(place.name), { permanent: true, direction: "top" }) // her words: text
      .addTo(map);
  }
  let chosen = null;
  const draw = (latlng) => {
    if (chosen) chosen.remove();
    chosen = L.circle(latlng, { radius: radius(), className: "chosen", interactive: false });
    chosen.addTo(map);
  };
  let named = 0;
  const choose = (latlng, how = "Chosen on the map") => {
    where.value = `${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}`;
    draw(latlng);
    if (said) said.textContent = `${how}.`;
    picked();
    if (said) sayNear(said, latlng, ++named, () => named, how);
  };
  map.on("click", (event) => choose(event.latlng));
  const refresh = streetsAround(map, streets, tiles ? null : nothingHere(element));
  map.on("moveend", refresh);
  map.setView(centre, 16);
  refresh();
  let here = null;
  // Where she is, once her browser says: a dot as on her walk page, and the map brought to it
  // unless she has already chosen a place (a map of somewhere else is no help to pick on).
  const showHere = (lat, lon) => {
    const at = [lat, lon];
    if (!here) {
      here = L.circleMarker(at, { radius: 9, className: "position", interactive: false });
      here.bindTooltip(asText("You are here"), { permanent: true, direction: "top" });
      here.addTo(map);
    } else here.setLatLng(at);
    if (!chosen) map.setView(at, 16, { animate: false });
  };
  toldWhenShown(element, map, () => (chosen || here || { getLatLng: () => centre }).getLatLng());
  // Where she is now, chosen as the place (her door, as she stands at it), the map brought
  // to it.
  const chooseHere = (lat, lon) => {
    const at = L.latLng(lat, lon);
    map.setView(at, 17, { animate: false });
    choose(at, "Chosen: where you are now");
  };
  // A street she found by its name (street_find.js): brought close, for her to tap her door.
  const goTo = (lat, lon) => map.setView([lat, lon], 18);
  return { redraw: () => chosen && draw(chosen.getLatLng()), showHere, chooseHere, goTo };
}
