// The page shown in place of one that can't load (offline.html, kept by sw.js). Her walk page
// keeps which walk she is on (walker.js, `wwm-walking`): here it holds SOS for that walk, kept
// and sent the moment the service can be reached (sos.js, which runs after this). The page she
// asked for opens again by itself once the service answers, but never while an SOS is being
// held, counted down or sent: her walk page would not know of it.

const WALKING = "wwm-walking";
const AGAIN_MS = 5000;
const byId = (id) => document.getElementById(id);

function walking() {
  try {
    const kept = JSON.parse(localStorage.getItem(WALKING) || "null");
    const live = kept && Number.isInteger(kept.walk_id) && !(kept.until < Date.now());
    return live ? kept : null;
  } catch {
    return null;
  }
}

const walk = walking();
if (walk) {
  byId("walk-data").textContent = JSON.stringify({ walk_id: walk.walk_id, csrf: walk.csrf });
  byId("sos-form").action = `/walks/${walk.walk_id}/sos`;
  byId("offline-walk").hidden = false;
  byId("offline-goes-on").hidden = false;
}

let holding = false;
const sos = byId("sos");
sos.addEventListener("pointerdown", () => {
  holding = true;
});
for (const type of ["pointerup", "pointercancel", "pointerleave"]) {
  sos.addEventListener(type, () => {
    holding = false;
  });
}

function busyWithSos() {
  if (!walk) return false;
  return holding || !byId("sos-pending").hidden || localStorage.getItem(`wwm-sos-${walk.walk_id}`);
}

async function openAgain() {
  if (busyWithSos()) return;
  try {
    const answer = await fetch("/offline", { cache: "no-store" });
    if (answer.ok && !busyWithSos()) location.reload();
  } catch {
    // still no network: this page stays
  }
}

setInterval(openAgain, AGAIN_MS);
window.addEventListener("online", openAgain);
document.addEventListener("wwm:sos-sent", openAgain); // at once, not at the next look
byId("offline-again").addEventListener("click", () => location.reload());
