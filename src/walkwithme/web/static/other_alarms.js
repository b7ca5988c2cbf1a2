// His other walks' alarms, on the walk page he follows one from: he would not see another's
// alarm without his home page or an alert, so this asks every 5 s (and when the page is
// looked at again) and says each, with its link. (Every 20 s, an SOS went unseen for up to
// 20 s on the page he was looking at: an outside review. One small read a look.)

const OTHERS_EVERY_MS = 5000;

// Where they are said: above this walk's headline; while this walk is in its own alarm,
// below its banner, whose "I'm on it" came four screens down at 200% text under two other
// walks' alarms (an outside review): what he has open is what he acts on first.
function place(said) {
  const banner = document.getElementById("alarm");
  const headline = document.getElementById("headline");
  const anchor = banner && !banner.hidden ? banner : headline;
  if (!anchor) return;
  const where = anchor === banner ? "afterend" : "beforebegin";
  const sibling = where === "afterend" ? anchor.nextElementSibling : anchor.previousElementSibling;
  if (sibling !== said) anchor.insertAdjacentElement(where, said);
}

// `said`: where they are said; `url`: /needs-you; `thisWalk`: the walk this page is of.
export function watchOtherAlarms({ said, url, thisWalk }) {
  if (!said || !url) return;
  place(said);
  const banner = document.getElementById("alarm");
  if (banner) {
    new MutationObserver(() => place(said)).observe(banner, {
      attributes: true,
      attributeFilter: ["hidden"],
    });
  }
  let othersSaid = "[]"; // what is said now: rebuilt (and said again, role=alert) on news only
  async function look() {
    if (document.hidden) return; // (looked for again as soon as the page is looked at)
    let found = [];
    try {
      const answer = await fetch(url, { headers: { accept: "application/json" } });
      // Signed out meanwhile: nothing is known of his other walks any more, so nothing is said.
      if (answer.ok) found = (await answer.json()).filter((walk) => walk.id !== thisWalk);
    } catch {
      return; // offline: the connection's own badge says so; what was said stays
    }
    const news = JSON.stringify(found);
    if (news === othersSaid) return;
    othersSaid = news;
    said.replaceChildren(
      ...found.map((walk) => {
        const line = document.createElement("p");
        const open = document.createElement("a");
        open.href = `/walks/${walk.id}`;
        open.className = "button primary";
        open.textContent = `Open ${walk.name}'s walk`;
        const why = walk.why ? `: ${walk.why}, since ${walk.alarm_since}` : "";
        const another = document.createElement("strong");
        another.textContent = "Another walk: ";
        line.append(another, `${walk.sentence}${why}. `, open);
        return line;
      }),
    );
    said.hidden = found.length === 0;
  }
  look();
  setInterval(look, OTHERS_EVERY_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") look();
  });
}
