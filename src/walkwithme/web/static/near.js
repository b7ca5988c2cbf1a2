// The streets she was last seen near ("Last seen near Mikonkatu, …" in the alarm's banner,
// "Near" among the facts), kept up as she moves: they were named only as the page was served,
// then hidden once she had moved on, and the banner said "Last seen 19:57" with no street (an
// outside review). Asked of the service (`GET …/near`, the page's own words, for her position
// as this viewer sees it) at each new position; one question at a time.

const NEAR_UNTIL_M = 30; // farther than this from where they were named, they are not hers

import { metres } from "./words.js";

export function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad * Math.cos(((a[0] + b[0]) / 2) * rad);
  return 6371000 * Math.hypot(dLat, dLon);
}

// `url`: where to ask (none without a street map: the names only hide as she moves on).
export function keepNear(url) {
  let asking = false;
  let again = false;
  let askedOf = null; // the time of the position last asked of: not again for the same one

  function show(found) {
    const left = document.getElementById("distance-left");
    if (left && typeof found.left_m === "number") left.textContent = metres(found.left_m);
    for (const near of document.querySelectorAll(".near")) {
      near.hidden = !found.near;
      if (found.near) {
        near.dataset.lat = found.lat;
        near.dataset.lon = found.lon;
      }
      // The facts' "Near" has its own place for the names; the banner's words are the names,
      // or nothing at all (hidden words are still its text: "Last seen near , 23:26").
      const names = near.querySelector(".near-names");
      if (names) names.textContent = found.near || "";
      else near.textContent = found.near ? `near ${found.near}, ` : "";
    }
  }

  async function ask() {
    if (asking) {
      again = true;
      return;
    }
    asking = true;
    try {
      const answer = await fetch(url, { cache: "no-store" });
      if (answer.ok) show(await answer.json());
    } catch {
      // no network: asked again at her next position
    } finally {
      asking = false;
    }
    if (again) {
      again = false;
      ask();
    }
  }

  // Her position now: names said of somewhere else go, and hers are asked.
  return function follow(position) {
    for (const near of document.querySelectorAll(".near")) {
      const { lat, lon } = near.dataset;
      const named = lat === undefined ? null : [Number(lat), Number(lon)];
      if (!named || metresBetween([position.lat, position.lon], named) > NEAR_UNTIL_M) {
        near.hidden = true;
      }
    }
    // Asked at each new position, not only once she has moved on: what is named depends on
    // how precise it is too (a vague one names none), and a reload would say the same.
    if (url && position.t !== askedOf) {
      askedOf = position.t;
      ask();
    }
  };
}
