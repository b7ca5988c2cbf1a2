// The service worker of Walk With Me's pages: shows the alerts that Web Push brings, and opens
// the alert's page when the notification is tapped (the page the recipient may see: the walk,
// the alarm's link, or "Are you OK?"). It caches nothing: every page may show a position.

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
