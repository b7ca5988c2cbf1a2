// The alarm's banner on a walk's page (his, hers, a link's): why the alarm is and what came
// during it, who is on it, and its end, kept current by the walk's events (walk.js feeds them).

import * as words from "./words.js";

const byId = (id) => document.getElementById(id);

// `view()`: the walk as the page last heard of it; `refreshTimes`: says the page's times again.
export function alarmBanner({ data, tables, name, view, refreshTimes }) {
  // An element hidden with the focus in it (the alarm's banner, as "Mark safe" is answered)
  // would leave a keyboard or a screen reader at the page's start: the focus goes to what was
  // said of it, or to the headline.
  function hideKeepingFocus(element) {
    const had = element.contains(document.activeElement);
    element.hidden = true;
    if (!had) return;
    const said = byId("acted");
    const next = said && !said.hidden ? said : byId("headline");
    next.tabIndex = -1;
    next.focus();
  }

  // Who said "I'm on it" during this alarm, from the page as served on.
  const helpers = [...(data.on_it || [])];
  // Why the alarm is, as codes (walk_context.alarm_reasons): why it began, then what came
  // during it, each once: "SOS pressed, then wrong PIN three times".
  const reasons = [...(data.alarm_reasons || [])];
  let began = data.alarm_began; // why it began, in words: with why she was asked (words.py)
  function sayReasons() {
    const [first, ...later] = reasons;
    const said = [began || words.reason(tables, first), ...later.map((r) => words.thenReason(tables, r))];
    const text = said.join(", then ");
    byId("alarm-reason").textContent = text.charAt(0).toUpperCase() + text.slice(1);
  }

  // After her duress PIN a call or a message would reach the phone someone else may hold: the
  // page shows at once what it shows when loaded again (walk.html): no call, no quick replies,
  // and the warning. Her SOS she was made to end with it is a silent alarm from then on.
  // Silent for the rest of the walk once given, its alarm over or not (walk_context.py).
  let silenced = Boolean(byId("alarm-silent") && !byId("alarm-silent").hidden);
  function goSilent() {
    silenced = true;
    const warning = byId("alarm-silent");
    if (warning) warning.hidden = false;
    const calls = ".call, .replies, #replied, #asked-call, #her-words, #her-words-call";
    for (const element of document.querySelectorAll(calls)) {
      element.remove(); // (her number's dial links: "Call Mira" under "Are you OK?" too)
    }
    const go = byId("alarm-go");
    if (go) go.textContent = `Go where ${name} was last seen, or call for help.`;
    warnOfTheNote();
  }

  // His note on marking her safe may show on her phone, which someone else may hold (after her
  // duress PIN, or three wrong PINs): said by the note, not after it.
  function warnOfTheNote() {
    const phone = byId("note-phone");
    if (phone && !view().over_for_her) {
      phone.hidden = false;
      byId("note").setAttribute("aria-describedby", "note-phone");
    }
  }
  const givenUnderDuress = (event) =>
    event.kind === "duress" ||
    (event.cover && event.pin === "duress") ||
    (event.kind === "alarm" && event.reason === "duress");

  function update(event) {
    const banner = byId("alarm");
    if (givenUnderDuress(event)) goSilent();
    else if (event.kind === "alarm" && event.reason === "wrong_pins") warnOfTheNote();
    // What her devices are shown after her duress PIN (`cover`) is not the walk's own alarm:
    // the silent one goes on through it.
    if (event.cover) return;
    const onItButton = byId("on-it");
    // (An `sos` event is her SOS pressed during the alarm: one that raises it is an "alarm".)
    const during =
      (event.kind === "alarm" && event.during) || event.kind === "duress" || event.kind === "sos";
    if (event.kind === "alarm" || event.kind === "sos" || during) {
      // Her SOS during the alarm is the same alarm: whoever is on it still is; so are wrong
      // PINs during it (`during`), which only make it one no PIN ends, and her duress PIN
      // given during it, which makes it a silent one.
      if (event.kind === "alarm" && !during) {
        helpers.length = 0;
        if (onItButton) onItButton.textContent = "I'm on it";
      }
      banner.hidden = false; // before its words change: a screen reader says what changes
      const after = byId("silent-after"); // (said in the banner while the alarm is on)
      if (after) after.hidden = true;
      const why = event.reason || event.kind;
      if (!during || !reasons.length) {
        reasons.splice(0, reasons.length, why);
        began = event.kind === "alarm" ? words.saidReason(tables, event) : null;
      }
      else if (!reasons.includes(why)) reasons.push(why);
      sayReasons();
      const locked = byId("alarm-locked"); // three wrong PINs: what it means (walk.html)
      if (locked) locked.hidden = !reasons.includes("wrong_pins");
      // What came during the alarm changes its reason, not its time: it is the same alarm.
      if (!during) byId("alarm-since").dataset.at = event.at;
      const pressed = byId("alarm-sos"); // her SOS during it: when she last pressed it
      if (pressed) {
        pressed.hidden = event.kind !== "sos" && (!during || pressed.hidden);
        if (event.kind === "sos") pressed.querySelector("span").dataset.at = event.at;
      }
      byId("alarm-on-it").textContent = words.onIt(helpers);
      const call = byId("sos-call"); // her own page: "Call 112" under SOS while it lasts
      if (call) call.hidden = false;
      refreshTimes(); // "Since 23:31, just now" at once, not a bare "Since" until the next tick
    } else if (event.kind === "alarm_acknowledged") {
      const who = words.person(event.by, data.me);
      if (!helpers.includes(who)) helpers.push(who);
      byId("alarm-on-it").textContent = words.onIt(helpers);
      // Her page's button says it was said (pressed again, it says it again).
      if (who === "You" && onItButton) onItButton.textContent = "You're on it ✓";
    } else if (event.kind === "alarm_resolved") {
      // Who ended it, and what they said of it ("Noor ended it: “She is with me”"), where the
      // banner was: the others following the walk saw it go without a word, and what they had
      // last done ("you are on it") stayed said.
      const who = event.by && event.by.name ? words.person(event.by, data.me) : null;
      const ended = who ? `: ${who === "You" ? "you" : who} ended it` : "";
      const overSaid = words.fullStop(`The alarm is over${ended}${words.closing(event)}`);
      const acted = byId("acted");
      const over = byId("alarm-over"); // through a link: said there, at the top, once
      if (acted && who !== "You" && !over) {  // whoever ended it has the answer to what they did
        acted.textContent = overSaid;
        acted.classList.add("good");
        acted.classList.remove("bad");
        acted.hidden = false;
      }
      hideKeepingFocus(banner);
      // Her duress PIN given: still no call and no message, and why (walk.html).
      const after = byId("silent-after");
      if (after && silenced) after.hidden = false;
      // Through a link, her phone number is for the alarm alone (privacy.md): it goes with it.
      if (data.by_link) for (const call of document.querySelectorAll(".call")) call.remove();
      if (over) {
        over.textContent = overSaid;
        over.hidden = false;
      }
      // Her own page: what her SOS said gives way to who ended the alarm (her SOS button is
      // there again, should she need it).
      const sent = byId("sos-sent");
      if (sent) {
        // Ended by someone else, her walk going on: what to do if she still needs help (her
        // alert said it, her page did not).
        sent.textContent = who && who !== "You" ? `${overSaid} If you need help, press SOS.` : overSaid;
        sent.classList.remove("bad");
        sent.hidden = false;
      }
      const call = byId("sos-call");
      if (call) call.hidden = true;
    }
  }

  return { update, goSilent };
}
