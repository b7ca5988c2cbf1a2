// Forms that act without leaving the page (data-in-place): the map, the scroll and the live
// connection stay. The form is posted as it would be without this script (the same fields,
// its CSRF token among them, from our own page), asking for JSON; what came of it is said in
// words, in the element named by data-said (else one after the form). Without this script,
// or where fetch is missing, the form posts and the page comes back as before.

import { armTyped } from "./typed.js";

const byId = (id) => document.getElementById(id);

function sayAfter(form, text, good) {
  let said = form.dataset.said ? byId(form.dataset.said) : form.nextElementSibling;
  if (!said || !said.classList.contains("said")) {
    said = document.createElement("p");
    said.className = "said notice";
    said.setAttribute("role", "status");
    form.after(said);
  }
  said.textContent = text;
  said.classList.toggle("good", good);
  said.classList.toggle("bad", !good);
  // Where it went with the walk's end (walk.js), which says how it ended instead.
  said.hidden = "gone" in said.dataset;
  return said;
}

// A button disabled while it had the focus loses it (to the page's start): given back to the
// button, or, where it went away with what it did (the alarm's banner), to the words saying
// what came of it, so that a keyboard or a screen reader goes on from where it was.
function keepFocus(button, said) {
  if (document.activeElement !== null && document.activeElement !== document.body) return;
  if (button && button.isConnected && button.offsetParent !== null) {
    button.focus();
  } else if (said) {
    said.tabIndex = -1;
    said.focus();
  }
}

function sentence(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

// Her sign-in ended while the page was open: one way on, back to this page, with what she
// typed in the form given back (typed.js).
function signInAgain(said) {
  armTyped();
  const again = document.createElement("a");
  again.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
  again.className = "button primary";
  again.textContent = "Sign in again";
  said.append(" ", again);
}

async function submitInPlace(event) {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-in-place")) return;
  if (event.defaultPrevented || !window.fetch) return; // another script kept it (offline)
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form));
  const button = event.submitter;
  if (button && button.name) body.set(button.name, button.value);
  const buttons = [...form.querySelectorAll("button")];
  for (const each of buttons) each.disabled = true; // one tap, one send
  let said = null;
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body,
      cache: "no-store",
    });
    let reply = {};
    try {
      reply = await answer.json();
    } catch {
      reply = {};
    }
    if (answer.ok) {
      if (reply.html !== undefined && form.dataset.replace) {
        const target = byId(form.dataset.replace);
        target.innerHTML = reply.html;
        showCopyButtons(target);
        return;
      }
      if (form.dataset.reset !== undefined) form.reset();
      said = sayAfter(form, reply.said || "Done.", true);
    } else {
      const why = reply.error ? sentence(reply.error) : `The service answered ${answer.status}.`;
      said = sayAfter(form, `Not done: ${why}`, false);
      if (answer.status === 401) signInAgain(said);
    }
  } catch {
    said = sayAfter(form, "Not sent: this phone can't reach the service. Try again.", false);
  } finally {
    for (const each of buttons) each.disabled = false;
    keepFocus(button, said);
  }
}

// A form that asks first (data-confirm) is asked by confirm.js, which app.js ran before this
// script: a "no" has prevented the submit, and submitInPlace sends nothing.
document.addEventListener("submit", submitInPlace);

// Copy buttons (data-copy: the id of the field whose text they copy).
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const field = byId(button.dataset.copy);
  if (!field) return;
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  const said = byId(`${button.dataset.copy}-said`);
  if (said) {
    said.textContent = copied ? "Copied." : "Select the link and copy it.";
    said.hidden = false;
  }
});

// They need this script: without it they stay hidden, and the link is selected by hand.
function showCopyButtons(within) {
  for (const button of within.querySelectorAll("[data-copy][hidden]")) button.hidden = false;
}
showCopyButtons(document);
