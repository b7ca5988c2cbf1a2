// Words, not codes: the same sentences as web/words.py, from the tables the page was given.

export function clockTime(ms, tz) {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (tz) options.timeZone = tz;
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(ms));
}

// "just now", "40 s ago", "3 min ago", "2 h 5 min ago": to the minute, as the server says it
// (timewords.ago): "2 h ago" would not say which hour.
export function ago(ms, now) {
  if (now - ms < 10000) return "just now";
  return `${duration(now - ms)} ago`;
}

// A time gone by, as the live pages tick it on ("21:18, 3 min ago"); times to come are said by
// the server alone (words.when: "tomorrow at 21:00"), and no page ticks one on.
export function when(ms, now, tz) {
  return `${clockTime(ms, tz)}, ${ago(ms, now)}`;
}

// Every time on the page (`data-at`) said again as of `now`: "23:26, 3 min ago" counts up.
export function sayTimes(root, now, tz) {
  for (const element of root.querySelectorAll("[data-at]")) {
    element.textContent = when(Number(element.dataset.at), now, tz);
  }
}

export function metres(distance) {
  if (distance === null || distance === undefined) return "unknown";
  // To 10 m (to 100 m from a km), a half up: as timewords.distance says it.
  const tens = Math.floor(distance / 10 + 0.5) * 10;
  if (tens < 1000) return `${tens} m`;
  return `${(Math.floor(distance / 100 + 0.5) / 10).toFixed(1)} km`;
}

// A position's accuracy, rounded up, never down (words.py's at_most).
export function atMost(accuracy) {
  if (accuracy >= 1000) return `${(Math.ceil(accuracy / 100) / 10).toFixed(1)} km`;
  const step = accuracy < 100 ? 5 : 10;
  return `${Math.max(step, Math.ceil(accuracy / step) * step)} m`;
}

export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

export function reason(tables, code, timer = false) {
  const own = timer && tables.timer_reasons ? tables.timer_reasons[code] : undefined;
  return own || tables.reasons[code] || code || "something is wrong";
}

// What came during an alarm, said after why it began ("SOS pressed, then ..."; words.py).
export function thenReason(tables, code) {
  return (tables.then && tables.then[code]) || reason(tables, code);
}

// A walk without a destination (a timer walk): its alarm says so (messages.a_timer_walk).
function aTimerWalk(event) {
  return "timer" in event ? Boolean(event.timer) : "destination" in event && event.destination === null;
}

export function stateSentence(tables, state, name) {
  return fill(tables.states[state] || "{name}'s walk: " + state, { name });
}

// The state the headline says (words.headline_state): "home, inside" only where her "I'm
// inside" (`inside`, the walk's last) came at her door or last seen there; "safe" by the word
// of whoever found her; a timer walk has no home.
export function headlineState(walk, inside, closing = null) {
  // Over by whoever ended the alarm her duress PIN made her end it under, "I'm inside" as
  // much as "End the walk" (words.py).
  const over = walk.state === "ended" || walk.state === "safe";
  if (over && closing && closing.kind === "alarm_resolved") return "ended_resolved";
  if (walk.state === "ended" && closing && closing.at_door === false) return "ended_on_the_way";
  if (walk.state === "active" && walk.kind === "timer") return "active_timer";
  if (walk.state !== "safe" || !inside) return walk.state;
  if (inside.by) return "safe_by";
  if (walk.kind === "timer") return "safe_timer";
  return inside.at_door === false ? "safe_elsewhere" : walk.state;
}

// Why, in words; an unanswered check says why she was asked it (messages.said_reason).
export function saidReason(tables, event) {
  const timer = aTimerWalk(event);
  const said = reason(tables, event.reason, timer);
  return event.asked_because
    ? `${said}, asked because: ${reason(tables, event.asked_because, timer)}`
    : said;
}

// Her closing note ("Would you like to come in?"), said after "... is inside" (words.py).
export function closing(event) {
  const closes = ["inside", "ended", "alarm_resolved"].includes(event.kind); // CLOSING_WORD
  return closes && event.note ? `: “${event.note}”` : "";
}

// The sentence with its full stop, unless what it quotes ends it already (words.py).
export function fullStop(sentence) {
  return /[.!?…]["'”]*$/.test(sentence) ? sentence : `${sentence}.`;
}

// Whether the event says her duress PIN was given (words.py's duress_given).
export function duressGiven(event) {
  return event.kind === "duress" || (event.kind === "alarm" && event.reason === "duress");
}

// Who did something (an event's `by` or `sender`), in words: "You" on their own page
// (`me`: the reader's id; words.py's person).
export function person(said, me) {
  if (!said) return "Someone";
  if (me !== null && me !== undefined && said.id === me) return "You";
  return said.name || "Someone";
}

// Who said "I'm on it" during this alarm, each once (words.py's on_it).
export function onIt(names) {
  if (!names.length) return "Nobody has said they are on it yet.";
  const said = [names[0], ...names.slice(1).map((n) => (n === "You" ? "you" : n))];
  const listed =
    said.length === 1 ? said[0] : `${said.slice(0, -1).join(", ")} and ${said[said.length - 1]}`;
  const verb = names.length === 1 && names[0] !== "You" ? "is" : "are";
  return `${listed} ${verb} on it.`;
}

// `duressBefore`: her duress PIN was given earlier in the walk (words.py's timeline): her
// duress PIN given during an alarm is said the first time as the silent alarm it makes, and
// only after that "again".
export function eventSentence(tables, event, name, me, duressBefore = false) {
  if (event.kind === "duress" && duressBefore) {
    return fill(tables.events.duress, { name }) + ((tables.duress && tables.duress[event.said]) || "");
  }
  if (event.kind === "duress") event = { ...event, kind: "alarm" }; // the silent alarm it is
  // What she was made to do after her duress PIN, as those looking out for her read it.
  if (event.cover && event.pin === "duress" && tables.duress) {
    return `${name} gave the duress PIN${tables.duress[event.kind] || ""}` + closing(event);
  }
  if (event.kind === "inside" && event.by && tables.events.inside_by) {
    // Said by whoever found her, not by her.
    return fill(tables.events.inside_by, { name, by: person(event.by, me) }) + closing(event);
  }
  if (event.kind === "phone_reports") {
    // How often her phone reports, said as a signal (words.py's as_signal).
    event = { ...event, kind: "phone_signal", signal: `reports_${event.reports}` };
  }
  const signal = event.kind === "phone_signal" && tables.signals && tables.signals[event.signal];
  if (signal) return fill(signal, { name, device: event.device || "phone" });
  let kind = event.kind === "alarm_escalated" && event.again ? "alarm_escalated_again" : event.kind;
  if (kind === "check_withdrawn") kind = `check_withdrawn_${event.reason}`;
  if (kind === "pin_refused" && event.right_pin) kind = "pin_refused_right";
  if (kind === "extended" && event.answered) kind = "extended_answer"; // her answer too
  const byYou = person(event.by, me) === "You";
  if (kind === "alarm_acknowledged" && byYou && tables.events.alarm_acknowledged_by_you) {
    kind = "alarm_acknowledged_by_you";
  }
  const template = tables.events[kind] || event.kind.replaceAll("_", " ");
  const rung = (tables.rungs && tables.rungs[event.rung]) || "the next people";
  const said = fill(template, {
    name,
    rung: fill(rung, { name }),
    sender: person(event.sender, me),
    text: event.text || "",
    by: person(event.by, me),
    reason: saidReason(tables, event),
    note: event.note || "marked safe",
  });
  const charging = event.kind === "low_battery" && event.charging ? ", but charging" : "";
  return said + charging + closing(event);
}

// "40 s", "12 min", "1 h 5 min": how long something has lasted.
export function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

// Whether her positions are arriving (web/words.py says the same before the script runs).
// The walk's silence threshold: the stricter of day and night, in seconds.
export function silentS(view) {
  const shown = view.thresholds || {};
  const values = [shown.day, shown.night].filter(Boolean).map((p) => Number(p.silent));
  return values.length ? Math.min(...values) : 180;
}

// "" (fresh), "amber" (not fresh: the page says how old), "red" (past the silence threshold).
export function ageClass(lastAt, now, silent) {
  const ageS = (now - lastAt) / 1000;
  if (ageS <= Math.min(60, silent / 2)) return "";
  return ageS > silent ? "red" : "amber";
}

// "12 min late" once the expected time has passed and she hasn't arrived.
export function lateBy(view, now) {
  const onTheWay = view.state === "active" || view.state === "alarm";
  if (!view.live || !onTheWay || view.expected_at == null || now <= view.expected_at) return null;
  return `${duration(now - view.expected_at)} late`;
}
