// Her walk page's "Are you OK?": the PIN pad shown when the service asks (walk.js adds the
// question to the timeline; this watches for it), taken away when it is answered or taken
// back, turned into the alarm's pad in an alarm, and locked after three wrong PINs; her tab's
// title says the question while it waits. Split from walker.js, which reports her positions.

import { keepHeard } from "./heard.js";
import { keepTimeLeft, timeLeft } from "./time_left.js";
import * as words from "./words.js";

const byId = (id) => document.getElementById(id);

// `data`: the page's walk data; `clock`: the service's clock (service_clock.js); `onOver()`:
// the walk is over (safe or ended), so her page stops reporting.
export function keepCheck({ data, clock, onOver }) {
  const tables = data.words;
  const serviceNow = () => clock.now();
  const check = byId("check");
  const pin = byId("ok-pin");
  for (const key of document.querySelectorAll("[data-digit]")) {
    key.addEventListener("click", () => {
      if (key.dataset.digit === "back") pin.value = pin.value.slice(0, -1);
      else if (pin.value.length < 8) pin.value += key.dataset.digit;
      const typed = pin.value.length;
      byId("pin-count").textContent = `${typed} ${typed === 1 ? "digit" : "digits"} entered`;
    });
  }

  // An alarm three wrong PINs raised: no PIN ends it, so the pad goes and the section says
  // who can end it (as the page says it when loaded in one).
  const okForm = byId("ok-form");
  let locked = okForm.hidden;
  // How long is left to answer the question: counted down while it waits (`until`: when its
  // time is up, by the service's clock; none: hidden). The service's clock is asked again: it
  // may have moved on since (a drill).
  const timeLeftSaid = byId("time-left");
  function sayTimeLeft(until) {
    timeLeftSaid.dataset.until = until ? String(until) : "";
    timeLeftSaid.textContent = until ? timeLeft(until - serviceNow()) : "";
    timeLeftSaid.hidden = !until;
    if (until) clock.sync();
  }
  keepTimeLeft("time-left", serviceNow);

  function showLocked() {
    sayTimeLeft(null);
    check.hidden = false;
    okForm.hidden = true;
    for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = true;
    byId("check-title").textContent = check.dataset.lockedTitle;
    byId("check-why").textContent = check.dataset.lockedWhy;
  }

  // What the page said of an earlier question or alarm goes when a new one comes: "Thank you:
  // … you are OK", "That PIN is not right", "The alarm is over" stayed above a new "Are you OK?",
  // and a frightened walker may think she has answered it already (an outside review). An SOS
  // still on its way (kept: sos.js) stays said.
  function forgetEarlier() {
    for (const id of ["said", "done"]) {
      const notice = byId(id);
      if (notice) notice.hidden = true;
    }
    document.dispatchEvent(new CustomEvent("wwm:asked"));
  }

  // Her tab says the question while it waits (another tab, a locked phone's list of tabs), and
  // the phone buzzes where it can: at night she may have a minute to answer.
  const calmTitle = () => `${byId("headline").textContent} · Walk With Me`;
  let askedTitle = check.hidden || locked ? null : check.dataset.tabTitle || null;
  // A companion's "Are you OK?" or "Call me" next (heard.js); in an alarm, its headline.
  const inAlarmNow = () => document.body.className.includes("state-alarm");
  const heardTitle = keepHeard({
    box: byId("heard"),
    tables,
    me: data.me,
    tz: data.tz,
    onTitle: () => sayTitle(),
  });
  function sayTitle() {
    const title = askedTitle || (!inAlarmNow() && heardTitle()) || calmTitle();
    if (document.title !== title) document.title = title;
  }
  // walk.js writes the headline into the title as the walk changes: the question stays first.
  new MutationObserver(sayTitle).observe(document.querySelector("title"), { childList: true });

  function answered() {
    sayTimeLeft(null);
    check.hidden = true;
    pin.value = "";
    byId("pin-count").textContent = "";
    askedTitle = null;
    sayTitle();
  }

  // A PIN refused at the top ("That PIN is not right. Try again.") stood there after the
  // question was answered elsewhere or taken back (an outside review): what became of it is
  // said in its place, in the timeline's words ("Your phone is reporting again: “Are you OK?”
  // is taken back").
  function sayWhatBecameOfIt(item) {
    const said = byId("said");
    if (!said || said.hidden || !("pin" in said.dataset)) return;
    const parts = [...item.childNodes].filter((node) => !node.classList?.contains("when"));
    said.textContent = words.fullStop(parts.map((node) => node.textContent).join("").trim());
    said.classList.replace("bad", "good");
    said.setAttribute("role", "status");
  }

  function asked(item) {
    forgetEarlier();
    check.hidden = false;
    byId("check-title").textContent = "Are you OK?";
    // Why she is asked, as the page says it when loaded (words.reason: the same words).
    const reason = item.dataset.reason;
    const timer = !data.view.destination; // a timer walk's reason in its own words
    const why = reason ? `We asked because: ${words.reason(tables, reason, timer)}. ` : "";
    const by = Number(item.dataset.answerBy);
    const at = by ? words.clockTime(by, data.tz) : null;
    const until = at ? ` Answer by ${at}: after that, they are alerted.` : "";
    byId("check-why").textContent = `${why}Enter your PIN to tell the people following your walk.${until}`;
    askedTitle = at ? `Are you OK? Answer by ${at}` : "Are you OK?";
    sayTimeLeft(by);
    sayTitle();
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
    pin.focus();
  }

  function watchTheWalk() {
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const item of change.addedNodes) {
          if (!(item instanceof HTMLElement)) continue;
          const kind = [...item.classList].find((name) => name.startsWith("kind-"));
          if (kind === "kind-alarm" && item.dataset.reason === "wrong_pins") {
            locked = true;
            showLocked();
          } else if (kind === "kind-alarm") {
            forgetEarlier(); // a new alarm: not what her last answer met
          }
          if (kind === "kind-check") asked(item);
          // Answered (here, on the check's own page, with more time), or taken back (her phone
          // reports again, she is getting closer): the question goes. (More time during an
          // alarm does not end the alarm: its pad stays.)
          if (kind === "kind-check_answered" || kind === "kind-check_withdrawn") {
            answered();
            sayWhatBecameOfIt(item);
          }
          if (kind === "kind-extended" && !inAlarmNow()) answered();
        }
      }
    }).observe(byId("timeline"), { childList: true });
    let inAlarm = document.body.className.includes("state-alarm");
    let stateWas = document.body.className;
    new MutationObserver(() => {
      const state = document.body.className;
      // "Thank you: … you are OK" was of the walk as it was: it stood at her door 8 minutes on.
      const done = byId("done");
      if (done && state !== stateWas) done.hidden = true;
      // A PIN refused for "more time" stood at the top of her page at her door, the page
      // still scrolled to that form (an outside review): of the walk as it was, it goes.
      if (state !== stateWas) forgetRefusal();
      stateWas = state;
      if (state.includes("state-safe") || state.includes("state-ended")) {
        onOver();
        answered();
      } else if (state.includes("state-alarm") && locked) {
        showLocked();
      } else if (state.includes("state-alarm")) {
        check.hidden = false;
        byId("check-title").textContent = "If you are OK, say so"; // as the page loads in an alarm
        // Not why she was asked before: the alarm is what her PIN ends now.
        byId("check-why").textContent = "Enter your PIN to tell the people following your walk.";
        sayTimeLeft(null); // its time is up: the alarm is what her PIN ends now
        askedTitle = null;
        sayTitle();
      } else if (inAlarm) {
        // The alarm is over (resolved: its question with it): the pad goes, without a reload,
        // and is there again for the next question.
        answered();
        locked = false;
        okForm.hidden = false;
        for (const asks of document.querySelectorAll(".needs-pin")) asks.hidden = false;
      }
      inAlarm = state.includes("state-alarm");
    }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
  }

  // A PIN refused: her focus back in the field she gave it in (it was at the page's start).
  const refusedIn = "pin" in (byId("said")?.dataset ?? {}) && byId(`${byId("said").dataset.pin}-pin`);
  if (refusedIn && !refusedIn.closest("[hidden]")) {
    sayByTheField(refusedIn);
    refusedIn.focus();
  }
  watchTheWalk();
}

// "That PIN is not right. Try again." said by the field her focus goes back to: said only at
// the page's top, it was above her screen once the field was scrolled into view, and she saw
// an empty field, and might type the same PIN again, towards the alarm three wrong ones raise.
// Moved there, not copied: once is enough (what became of the question is said in it too).
function sayByTheField(field) {
  const said = byId("said");
  said.classList.remove("big");
  const label = document.querySelector(`label[for="${field.id}"]:not(.visually-hidden)`);
  (field.closest(".pin-row") || label || field).before(said);
  const described = field.getAttribute("aria-describedby");
  field.setAttribute("aria-describedby", described ? `said ${described}` : "said");
}

function forgetRefusal() {
  const said = byId("said");
  if (said && "pin" in said.dataset) said.hidden = true;
}
