// Who looked at her walk, on her own walk page: asked again every 30 s while the page is in
// sight (her companions open it as she walks), newest first, each with when, in words.

import * as words from "./words.js";

const LOOKS_EVERY_MS = 30000;

// `list` and `none`: the list and the line that says nobody looked; `url`: where the looks
// are asked; `sentences`: how each way in is said; `now()`: the service's time.
export function keepLooks({ list, none, url, sentences, tz, now }) {
  if (!list || !url) return;
  async function refresh() {
    if (document.hidden) return;
    let looks;
    try {
      const answer = await fetch(url, { cache: "no-store" });
      if (!answer.ok) return; // the walk is gone from her devices' view, or she signed out
      looks = await answer.json();
    } catch {
      return; // no network: the list stays as it was, and is asked again
    }
    list.replaceChildren(
      ...looks.reverse().map((look) => {
        const item = document.createElement("li");
        const when = document.createElement("span");
        when.className = "when";
        when.dataset.at = look.at;
        when.textContent = words.when(look.at, now(), tz);
        const text = words.fill(sentences[look.via] || "Someone looked at your walk", {
          who: look.who || "Someone",
          link: look.link || "",
        });
        item.append(when, " ", text);
        return item;
      }),
    );
    list.hidden = looks.length === 0;
    if (none) none.hidden = looks.length > 0;
  }
  setInterval(refresh, LOOKS_EVERY_MS);
  document.addEventListener("visibilitychange", refresh);
}
