// "Get alerts in this browser": a Web Push subscription made a notification channel
// (POST /api/channels, kind webpush), and the service worker that shows the alerts and opens
// their page when tapped (/sw.js).

const button = document.getElementById("push-on");
const said = document.getElementById("push-said");

function base64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function turnOn() {
  button.disabled = true;
  try {
    const registration = await navigator.serviceWorker.register("/sw.js");
    const { public_key: key } = await (await fetch("/api/push/key")).json();
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64url(key),
    });
    const made = await fetch("/api/channels", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "webpush", target: subscription.toJSON(), label: "this browser" }),
    });
    // 409: this browser's subscription is a channel of hers already (pressed twice).
    said.textContent =
      made.ok || made.status === 409
        ? "Alerts will come to this browser. Send a test from your channels to be sure."
        : "This browser could not be added: " + (await made.json()).error;
  } catch (error) {
    said.textContent = "This browser can't get alerts: " + error.message;
  } finally {
    button.disabled = false;
  }
}

if (button && "serviceWorker" in navigator && "PushManager" in window) {
  button.hidden = false;
  button.addEventListener("click", turnOn);
}
