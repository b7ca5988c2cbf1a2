// "Get alerts in this browser": a Web Push subscription made a notification channel
// (POST /api/channels, kind webpush), and the service worker that shows the alerts and opens
// their page when tapped (/sw.js).

const button = document.getElementById("push-on");
const said = document.getElementById("push-said");

function base64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// Why not, in words: the browser's own message ("Registration failed - permission denied")
// names no way out (an outside review read it at 390 px).
function whyNot(error) {
  if (Notification.permission === "denied" || error.name === "NotAllowedError") {
    return (
      "This browser is not allowed to show alerts from this site. Allow notifications for it " +
      "in the browser's settings for this site, then press the button again; or add another " +
      "channel below."
    );
  }
  if (!window.isSecureContext) {
    return "Alerts in a browser need this site opened over https. Add another channel below.";
  }
  return `This browser can't get alerts (${error.message}). Add another channel below.`;
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
    said.textContent = whyNot(error);
  } finally {
    button.disabled = false;
  }
}

if (button && "serviceWorker" in navigator && "PushManager" in window) {
  button.hidden = false;
  button.addEventListener("click", turnOn);
}
