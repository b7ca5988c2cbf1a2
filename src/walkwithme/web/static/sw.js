// The service worker of Walk With Me's pages: shows the alerts that Web Push brings, opens the
// alert's page when the notification is tapped (the page the recipient may see: the walk, the
// alarm's link, or "Are you OK?"), and shows "No network" with SOS and the emergency number in
// place of a page that can't load (offline.html). It keeps that page and the files it needs,
// and nothing else: every other page may show a position, and none is kept on a phone.
// `OFFLINE` ({cache, page, files}) is written above this by the service (web/offline.py).

const PROXY_DOWN = [502, 503, 504];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(OFFLINE.cache)
      .then((cache) => cache.addAll([OFFLINE.page, ...OFFLINE.files]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  // An earlier release's page and files go; the pages open now are this worker's at once.
  const older = (names) => names.filter((name) => name !== OFFLINE.cache);
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(older(names).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // what she sends is never answered from here
  if (request.mode === "navigate") {
    // Asked of the service as ever; only when it can't be reached, "No network" instead: no
    // answer at all, or its proxy's (Caddy, nginx) saying the service behind it is down.
    const offline = () => caches.open(OFFLINE.cache).then((cache) => cache.match(OFFLINE.page));
    event.respondWith(
      fetch(request).then(
        (answer) => (PROXY_DOWN.includes(answer.status) ? offline().then((page) => page || answer) : answer),
        offline,
      ),
    );
    return;
  }
  const path = new URL(request.url).pathname;
  if (OFFLINE.files.includes(path)) {
    // A hashed file never changes: kept, it is the same as the service's.
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  }
});

self.addEventListener("push", (event) => {
  const alert = event.data ? event.data.json() : { title: "Walk With Me", body: "" };
  const urgent = alert.kind === "alarm" || alert.kind === "check";
  event.waitUntil(
    self.registration.showNotification(alert.title, {
      body: alert.body,
      tag: alert.key,
      data: { link: alert.link || "/" },
      requireInteraction: urgent,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = new URL(event.notification.data.link, self.location.origin);
  // Only our own pages: a link elsewhere is not something this worker opens.
  const target = link.origin === self.location.origin ? link.href : self.location.origin + "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === target);
      return open ? open.focus() : self.clients.openWindow(target);
    }),
  );
});
