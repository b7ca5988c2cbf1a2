// Picking a place on the map: the streets around (from the service's own street map; tiles
// only if the operator set WWM_TILES_URL), her places, and a tap that fills "Where" and draws
// the radius that counts as arriving. Without this script, coordinates are typed.

/* global L */

const element = document.getElementById("place-map");
const where = document.getElementById("where");
const radius = document.getElementById("radius");

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

function start() {
  const centre = [Number(element.dataset.lat), Number(element.dataset.lon)];
  const tiles = element.dataset.tiles;
  element.hidden = false; // before Leaflet measures it
  const map = L.map(element, { attributionControl: Boolean(tiles), zoomSnap: 0.5 });
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  const streets = L.layerGroup().addTo(map);
  for (const place of JSON.parse(element.dataset.places || "[]")) {
    L.circle([place.lat, place.lon], { radius: place.radius, className: "destination" })
      .bindTooltip(place.name)
      .addTo(map);
  }
  let chosen = null;
  const draw = (latlng) => {
    const metres = Number(radius.value) || 40;
    if (chosen) chosen.remove();
    chosen = L.circle(latlng, { radius: metres, className: "chosen", interactive: false }).addTo(map);
  };
  map.on("click", (event) => {
    where.value = `${event.latlng.lat.toFixed(5)}, ${event.latlng.lng.toFixed(5)}`;
    draw(event.latlng);
    document.getElementById("map-said").textContent = `Chosen: ${where.value}`;
  });
  radius.addEventListener("input", () => chosen && draw(chosen.getLatLng()));
  const refresh = streetsAround(map, streets);
  map.on("moveend", refresh);
  map.setView(centre, 16);
  refresh();
}

if (element && where && radius && window.L) start();
