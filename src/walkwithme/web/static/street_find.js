// "Find a street" (_street_find.html): a few letters of her street's name, and the streets
// of the service's own street map found by them (/api/map/find) offered as buttons; the
// one she picks brings the map there, for her to tap her door. Her first walk offered only
// a map of unnamed outlines, or coordinates to type (an outside review).

const WAIT_MS = 250; // after her last keystroke: one request for a word, not one a letter

// `goTo(lat, lon)`: brings the map there (pick_map.js).
export function findStreets(goTo) {
  const box = document.getElementById("street-find-box");
  const typed = document.getElementById("street-find");
  const list = document.getElementById("street-found");
  const said = document.getElementById("street-find-said");
  if (!box || !typed || !list || !goTo) return;
  box.hidden = false;
  let asked = 0;
  let timer = null;

  function offer(streets) {
    list.replaceChildren(
      ...streets.map((street) => {
        const item = document.createElement("li");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.textContent = street.name; // her map's words: text, never HTML
        pick.addEventListener("click", () => {
          goTo(street.lat, street.lon);
          list.replaceChildren();
          typed.value = street.name;
          said.textContent = `The map shows ${street.name}: now tap your door on it.`;
        });
        item.append(pick);
        return item;
      }),
    );
  }

  async function look() {
    const words = typed.value.trim();
    const mine = ++asked;
    if (words.length < 2) {
      offer([]);
      said.textContent = "";
      return;
    }
    try {
      const answer = await fetch(`/api/map/find?q=${encodeURIComponent(words)}`, { cache: "no-store" });
      if (mine !== asked) return;
      if (!answer.ok) throw new Error(`${answer.status}`); // (signed out, a fault: said below)
      const { streets } = await answer.json();
      offer(streets);
      said.textContent = streets.length
        ? `${streets.length === 1 ? "One street" : `${streets.length} streets`} found: choose yours.`
        : "No street of that name on this map: try fewer letters, or tap the map.";
    } catch {
      if (mine !== asked) return;
      offer([]);
      said.textContent = "Can't look it up now: tap the map instead.";
    }
  }

  // The form sent back with a fault keeps what she looked for: its streets offered again.
  if (typed.value.trim()) look();

  typed.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(look, WAIT_MS);
  });
  // Enter looks at once, and doesn't send the form she has not finished.
  typed.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    clearTimeout(timer);
    look();
  });
}
