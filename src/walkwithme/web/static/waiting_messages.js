// Her walk page without a network: her messages and quick replies wait in localStorage and
// are sent, in order, when the network is back. What takes her PIN is not kept on the phone:
// the page says it was not sent (SOS is kept: sos.js). Said under the form she used.

// Returns the function that sends what waits (her page calls it as it opens).
export function keepMessages({ walkId, csrf, retryMs }) {
  const MESSAGES = `wwm-messages-${walkId}`;
  const offlineSaid = document.getElementById("offline-said");

  function waitingMessages() {
    try {
      return JSON.parse(localStorage.getItem(MESSAGES) || "[]");
    } catch {
      return [];
    }
  }

  // `near`: the form she used, which the words are put under and scrolled to: said at the
  // page's top, they were out of her sight while she pressed "I'm inside" (an outside review).
  // Its own place when there is nothing to say: first of her actions (above "I'm inside").
  const offlineHome = offlineSaid && offlineSaid.parentElement;
  function tell(text, near = null) {
    if (!offlineSaid) return;
    if (near) near.after(offlineSaid);
    else if (!text && offlineHome) offlineHome.prepend(offlineSaid);
    offlineSaid.textContent = text;
    offlineSaid.hidden = !text;
    if (near && text) offlineSaid.scrollIntoView({ block: "nearest" });
  }

  let posting = false;
  let messagesRetry = null;
  async function sendMessages() {
    clearTimeout(messagesRetry);
    if (posting) return;
    if (!waitingMessages().length) {
      if (navigator.onLine) tell(""); // back online: "not sent, try again" has done its work
      return;
    }
    if (!navigator.onLine) {
      messagesRetry = setTimeout(sendMessages, retryMs); // as her positions: not only on "online"
      return;
    }
    posting = true;
    try {
      let waiting = waitingMessages();
      while (waiting.length) {
        const answer = await fetch(`/walks/${walkId}/message`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ csrf, text: waiting[0] }),
          cache: "no-store",
        });
        // Not taken now (the service, or too many at once): kept, and tried again.
        if (answer.status >= 500 || answer.status === 429) throw new Error(String(answer.status));
        waiting = waitingMessages().slice(1);
        localStorage.setItem(MESSAGES, JSON.stringify(waiting));
      }
      localStorage.removeItem(MESSAGES);
      tell("");
    } catch {
      messagesRetry = setTimeout(sendMessages, retryMs); // still no way through
    } finally {
      posting = false;
    }
  }

  for (const form of document.querySelectorAll("#walker-actions form, #check form")) {
    if (form.id === "sos-form") continue;
    form.addEventListener("submit", (event) => {
      if (navigator.onLine) return;
      event.preventDefault();
      if (form.action.endsWith("/message")) {
        const text = (event.submitter && event.submitter.value) || form.elements.text.value;
        if (!text) return;
        const waiting = waitingMessages();
        waiting.push(text);
        localStorage.setItem(MESSAGES, JSON.stringify(waiting));
        if (form.elements.text) form.elements.text.value = "";
        const what = waiting.length === 1 ? "your message waits" : `${waiting.length} messages wait`;
        tell(`No network: ${what}, and will be sent when you are back online.`, form);
        sendMessages();
      } else {
        tell(
          "No network: this was not sent. Try again when you are back online. " +
            "If you are in danger, hold SOS: it is kept and sent as soon as it can be.",
          form,
        );
      }
    });
  }
  window.addEventListener("online", sendMessages);
  return sendMessages;
}
