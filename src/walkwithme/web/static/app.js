import { askFirst } from "./confirm.js";
import { keepTyped } from "./typed.js";

// On every page: the service worker (sw.js) is registered, so a phone can install the pages as
// an app (manifest.webmanifest) and an alert's notification opens its page when tapped. It
// subscribes to nothing (push.js asks for alerts, when the person chooses) and caches nothing.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {
    // Without a worker the pages work all the same; only installing them is not offered.
  });
}

// What a form's answer says once ("Saved", "A test is on its way": `?done=`, `?tested=`) is
// said on the page it led to; a reload of that page shows it as it is now, not the news again.
const once = new URL(location.href);
if (once.searchParams.has("done") || once.searchParams.has("tested")) {
  once.searchParams.delete("done");
  once.searchParams.delete("tested");
  history.replaceState(history.state, "", once.pathname + once.search + once.hash);
}

// A form that didn't work leads to a page saying why, with "Back": when the page before it was
// that form, the browser's own back, which gives the form back as it was typed (the link would
// load it empty). Which page sent the form is kept for this tab only (no referrer is sent), and
// only until the next page but the one saying why.
const backs = document.querySelectorAll("a[data-back]");
if (backs.length === 0) sessionStorage.removeItem("wwm-form-from");
document.addEventListener("submit", (event) => {
  sessionStorage.setItem("wwm-form-from", location.pathname);
  // Signing out: what her walk page kept on this browser (the walk she is on, for SOS on "No
  // network"; positions, messages or an SOS not sent yet, which nobody can send now) goes.
  const form = event.target;
  if (form instanceof HTMLFormElement && new URL(form.action).pathname === "/signout") {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith("wwm-")) localStorage.removeItem(key);
    }
  }
});

// Her home page without a walk of hers going on: no walk is kept for "No network" (her walk
// page keeps it while it is live; one ended elsewhere, its page closed, stayed behind).
if (document.querySelector(".walker-home") && !document.getElementById("my-walk")) {
  localStorage.removeItem("wwm-walking");
}
for (const back of backs) {
  back.addEventListener("click", (event) => {
    const from = sessionStorage.getItem("wwm-form-from");
    if (from !== null && from === new URL(back.href).pathname && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}

// A form that ends something at once asks first (confirm.js).
askFirst();

// What she typed outlives "Sign in again" (typed.js).
keepTyped();

// A field whose pattern isn't met says what it wants, in the page's words ("Your PIN: 4 to 8
// digits", from its title), not only the browser's "Please match the requested format."
document.addEventListener(
  "invalid",
  (event) => {
    const field = event.target;
    if (field instanceof HTMLInputElement && field.validity.patternMismatch && field.title) {
      field.setCustomValidity(`Use ${field.title}.`);
      // For this telling only: a PIN typed on the pad (no input event) must not stay refused.
      setTimeout(() => field.setCustomValidity(""), 0);
    }
  },
  true,
);
