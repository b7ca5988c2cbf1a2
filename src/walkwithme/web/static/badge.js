// The badge beside "Last seen" on a walk page: whether her positions are arriving, not only
// whether this page is connected. "Live" only while connected and her last position is
// fresh; connected but without news, how long there has been none (amber, then red as the
// silence grows). And, while the page is not connected, that what it shows may be out of
// date, on the first screen: in the alarm's banner, or else under the headline (an outside
// review: "Mira is on the way" stood above "Offline" while her SOS went unseen).

import * as words from "./words.js";

export const LINK_SAID = {
  connecting: "Connecting…",
  offline: "Offline: trying again",
  too_many: "Too many live pages are open: close some",
  closed: "Not live any more",
  signed_out: "Signed out: sign in again to follow",
  refused: "You can no longer see this walk",
};

const byId = (id) => document.getElementById(id);

export class Badge {
  constructor() {
    this.link = null; // the live connection's state; null before the script connects
    this.lost = false; // the connection was lost since it was last live
    this.said = null; // what the badge's live region last said (its state, not its count)
    // The walk is over: its stream closed for good, and nothing shown is out of date (a final
    // "Mira is home, inside" stood above "Not live any more... may be out of date").
    this.over = false;
  }

  show(view, now) {
    this.showStale();
    const pill = byId("connection");
    if (!pill || this.link === null) return;
    let text = LINK_SAID[this.link];
    let shade = this.link;
    const last = view.last_position;
    if (this.link === "live" && !last) [text, shade] = ["No position yet", "amber"];
    else if (this.link === "live") {
      shade = words.ageClass(last.t, now, words.silentS(view)) || "live";
      text = shade === "live" ? "Live" : `No position for ${words.duration(now - last.t)}`;
    }
    pill.textContent = text;
    pill.className = `pill ${shade}`;
    // A screen reader hears when it changes (Live, no news, Offline), not every minute of
    // "No position for 3 min", "4 min"...: the pill itself is not a live region.
    const told = byId("connection-said");
    const state = shade === "live" || shade === "amber" || shade === "red" ? shade : this.link;
    if (told && state !== this.said) {
      this.said = state;
      // Without its count, which the pill keeps current: said once, it went stale ("No
      // position for 20 min" heard after the pill said 13).
      told.textContent = shade === "amber" || shade === "red" ? "No new position" : text;
    }
    // Read once: where the live region says what the pill does ("Live"), the pill is hidden
    // from a screen reader, which read "Live Live" (an accessibility review).
    if (told && told.textContent === text) pill.setAttribute("aria-hidden", "true");
    else pill.removeAttribute("aria-hidden");
  }

  // While the page is not connected (connecting again after it was lost included; not its
  // first "Connecting…").
  showStale() {
    if (this.link === "live") this.lost = false;
    else if (this.link !== null && this.link !== "connecting") this.lost = true;
    const stale = this.lost && this.link !== "live" && !this.over;
    const said = stale ? `${words.fullStop(LINK_SAID[this.link])} What this shows may be out of date.` : "";
    const alarm = byId("alarm");
    const inAlarm = alarm && !alarm.hidden;
    for (const [id, shown] of [["alarm-connection", stale], ["page-connection", stale && !inAlarm]]) {
      const line = byId(id);
      if (!line) continue;
      line.hidden = !shown;
      if (shown) line.textContent = said;
    }
  }
}
