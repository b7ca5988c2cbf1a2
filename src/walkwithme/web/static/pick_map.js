// A map to pick a place on: the streets around (from the service's own street map; tiles only
// if the operator set WWM_TILES_URL), her places, and a tap that writes "latitude, longitude"
// into a field and draws the radius that counts as arriving. Used where a place is chosen
// (her places, starting a walk); without it, coordinates are typed.

/* global L */

function streetsAround(map, layer) {
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
  };
}

// `element`: the map's box, with data-lat, data-lon (where it opens), data-tiles and
// data-places; `where`: the field to fill; `said`: where to say what was chosen, in words;
// `radius()`: the radius to draw, in metres; `picked()`: called after each pick.
function asText(words) {
  const said = document.createElement("span");
  said.textContent = words;
  return said;
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
    L.circle([place.lat, place.lon], { radius: place.radius, className: "destination" })
      .bindTooltip(asText(place.name)) // Leaflet reads a string as HTML: her words are text
      .addTo(map);
  }
  let chosen = null;
  const draw = (latlng) => {
    if (chosen) chosen.remove();
    chosen = L.circle(latlng, { radius: radius(), className: "chosen", interactive: false });
    chosen.addTo(map);
  };
  map.on("click", (event) => {
    where.value = `${event.latlng.lat.toFixed(5)}, ${event.latlng.lng.toFixed(5)}`;
    draw(event.latlng);
    if (said) said.textContent = `Chosen on the map: ${where.value}`;
    picked();
  });
  const refresh = streetsAround(map, streets);
  map.on("moveend", refresh);
  map.setView(centre, 16);
  refresh();
  return { redraw: () => chosen && draw(chosen.getLatLng()) };
}
