// The walk's map: streets from the service's own street map on a plain background (tiles only
// if the operator set WWM_TILES_URL), the route home, where she has been, where she is now
// with the accuracy of that position, the destination, and a scale bar.

/* global L */

export class WalkMap {
  constructor(element, tilesUrl) {
    this.map = L.map(element, { attributionControl: Boolean(tilesUrl), zoomSnap: 0.5 });
    if (tilesUrl) L.tileLayer(tilesUrl, { maxZoom: 19 }).addTo(this.map);
    L.control.scale({ metric: true, imperial: false }).addTo(this.map);
    this.streets = L.layerGroup().addTo(this.map);
    this.route = L.polyline([], { className: "route", interactive: false }).addTo(this.map);
    this.track = L.polyline([], { className: "track", interactive: false }).addTo(this.map);
    this.takenAt = []; // when each point of the track was taken, in order
    this.accuracy = null;
    this.marker = null;
    this.destination = null;
    this.fitted = false;
  }

  setStreets(lines) {
    this.streets.clearLayers();
    if (lines.length) {
      L.polyline(lines, { className: "street", interactive: false }).addTo(this.streets);
    }
  }

  setRoute(points) {
    this.route.setLatLngs(points || []);
    this.fitted = false; // the whole way home, once it is known
    this.fit();
  }

  setDestination(dest) {
    if (!dest) return;
    this.destination = L.circle([dest.lat, dest.lon], {
      radius: dest.radius || 40,
      className: "destination",
      interactive: false,
    }).addTo(this.map);
    this.fitted = false;
    this.fit();
  }

  // Her track in the order her fixes were taken: one that arrives late (sent from another
  // device, or kept by a phone while offline) is drawn where it belongs, not at the end.
  addFixes(fixes) {
    for (const fix of fixes) {
      const t = Number(fix.t);
      const at = this.takenAt;
      if (!at.length || t >= at[at.length - 1]) {
        at.push(t);
        this.track.addLatLng([fix.lat, fix.lon]);
        continue;
      }
      let i = at.length;
      while (i > 0 && at[i - 1] > t) i -= 1;
      at.splice(i, 0, t);
      const points = this.track.getLatLngs().slice();
      points.splice(i, 0, L.latLng(fix.lat, fix.lon));
      this.track.setLatLngs(points);
    }
  }

  setPosition(position) {
    if (!position) return;
    const at = [position.lat, position.lon];
    const radius = position.accuracy || 0;
    if (!this.marker) {
      this.accuracy = L.circle(at, { radius, className: "accuracy", interactive: false });
      this.accuracy.addTo(this.map);
      this.marker = L.circleMarker(at, { radius: 9, className: "position", interactive: false });
      this.marker.addTo(this.map);
    } else {
      this.accuracy.setLatLng(at).setRadius(radius);
      this.marker.setLatLng(at);
    }
    this.fit();
    if (!this.map.getBounds().pad(-0.1).contains(at)) this.map.panTo(at);
  }

  fit() {
    // From the points themselves: a circle's own bounds need a map that already has a view.
    const bounds = L.latLngBounds([]);
    for (const line of [this.route, this.track]) {
      for (const point of line.getLatLngs()) bounds.extend(point);
    }
    if (this.destination) {
      const dest = this.destination;
      bounds.extend(dest.getLatLng().toBounds(2 * dest.getRadius()));
    }
    if (this.marker) bounds.extend(this.marker.getLatLng());
    if (!bounds.isValid()) return;
    if (!this.fitted) {
      this.map.fitBounds(bounds.pad(0.15), { maxZoom: 17, animate: false });
      // A fit leaves the drawn layer at a fraction of a pixel until the map next moves; a
      // move of nothing ends it as any move does, so the page is the same whichever came
      // first, her route or her position (her page after her duress PIN must not differ).
      this.map.panBy([0, 0]);
      this.fitted = true;
    }
  }

  remove() {
    this.map.remove();
  }
}
