// On every page: the service worker (sw.js) is registered, so a phone can install the pages as
// an app (manifest.webmanifest) and an alert's notification opens its page when tapped. It
// subscribes to nothing (push.js asks for alerts, when the person chooses) and caches nothing.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {
    // Without a worker the pages work all the same; only installing them is not offered.
  });
}
