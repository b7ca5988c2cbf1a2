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
document.addEventListener("submit", () => {
  sessionStorage.setItem("wwm-form-from", location.pathname);
});
for (const back of backs) {
  back.addEventListener("click", (event) => {
    const from = sessionStorage.getItem("wwm-form-from");
    if (from !== null && from === new URL(back.href).pathname && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}
