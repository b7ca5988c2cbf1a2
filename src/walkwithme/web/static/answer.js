// The "Are you OK?" page follows her walk as her walk page does: looked at again, and every
// 15 s, it asks for itself, and shows the new page when what it asks has changed (answered
// on her walk page, the alarm ended, or turned into one no PIN ends): she would otherwise
// type her PIN into a question that no longer waits for it. Never while she is typing.
import { ServiceClock } from "./service_clock.js";
import { keepTimeLeft } from "./time_left.js";

const EVERY_MS = 15000;

// Answered at the form's own address (her PIN, SOS): a reload there, or Back to it, sent it
// again: a wrong PIN one attempt more towards the alarm no PIN ends, her duress PIN "again",
// and Back after "Open your walk" was the browser's "Confirm form resubmission". The page
// takes its address anew, which a reload only reads (as her walk page does: walker.js).
history.replaceState(history.state, "", location.href);

// What the page asks: its heading, whether a PIN is asked, and by when (a new question,
// asked since the last, has a time of its own: its count went on from the old one).
function gist(main) {
  const heading = main.querySelector("h1");
  const left = main.querySelector("#time-left");
  const asks = `${heading ? heading.textContent.trim() : ""}|${Boolean(main.querySelector("#pin"))}`;
  return `${asks}|${left ? left.dataset.until : ""}`;
}

async function follow() {
  const typing = document.getElementById("pin");
  if (typing && typing.value) return;
  let page;
  try {
    const answer = await fetch(location.href, { headers: { accept: "text/html" } });
    page = new DOMParser().parseFromString(await answer.text(), "text/html");
  } catch {
    return; // offline: the page stays as it is
  }
  const fresh = page.querySelector("main");
  const main = document.querySelector("main");
  if (fresh && main && gist(fresh) !== gist(main)) {
    main.replaceWith(fresh);
    setClock();
    // Said, not only shown: the tab's name follows the headline, and a screen reader is taken
    // to it ("Are you OK?" became "The people following your walk are told" without a word:
    // an accessibility review).
    if (page.title) document.title = page.title;
    const headline = fresh.querySelector("h1");
    if (headline) {
      headline.tabIndex = -1;
      headline.focus();
    }
  }
}

// A PIN refused: what was said of it and the field to try again, in view (answer.html).
const refused = document.querySelector("#pin-form[data-refused]");
if (refused) document.getElementById("said").scrollIntoView({ block: "start" });

setInterval(follow, EVERY_MS);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") follow();
});

// How long is left to answer, by the service's clock as the page says it (`data-now`: when
// it was made; a drill's fast clock is not this device's), set again by each fresh page.
const clock = new ServiceClock(Date.now());
function setClock() {
  const shown = document.getElementById("time-left");
  if (shown) clock.set(Number(shown.dataset.now));
}
setClock();
keepTimeLeft("time-left", () => clock.now());
