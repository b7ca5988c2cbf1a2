// What she typed into a form outlives "Sign in again". Her sign-in can end while a page is
// open (it ran out, or she changed her password on another phone): the form she sends is
// refused, she signs in again and is led back to the page, and without this the form there
// is empty: a walk's destination and companions to choose again, at night, in a hurry.
//
// So as a form is sent, what was typed into it is kept for this tab only (sessionStorage),
// never a password, a PIN or a hidden field. It is given back once, on the page that sent it,
// only after the service said she was signed out (`armTyped`: said.html, or an in-place
// form's answer). Any other page forgets it: a form that went through is never filled in again.
// It is given back only to whoever typed it: on a shared phone, the next person to sign in on
// that tab must not find her destination in their form (an outside review); signing out
// forgets it.

const KEY = "wwm-typed";
const SIGN_IN = "/signin";
const SIGN_OUT = "/signout";
// Who is signed in on this page (base.html), whose typing it is.
const signedIn = () => document.body.dataset.person || null;
// The fields kept: what a person types or picks (not hidden ones, not files, not secrets).
const KEPT_TYPES = new Set([
  "text", "search", "email", "tel", "url", "number", "time", "date", "datetime-local",
  "radio", "checkbox", "select-one", "textarea",
]);

function typedInto(form) {
  const fields = [];
  for (const field of form.elements) {
    if (!field.name || field.name === "csrf" || field.disabled) continue;
    if (!KEPT_TYPES.has(field.type) || field.dataset.notKept !== undefined) continue;
    if (field.type === "radio" || field.type === "checkbox") {
      fields.push([field.name, field.value, field.checked]);
    } else {
      fields.push([field.name, field.value, null]);
    }
  }
  return fields;
}

function read() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

// The service said she is signed out: what the last form held is given back after she signs
// in again.
export function armTyped() {
  const kept = read();
  if (kept) sessionStorage.setItem(KEY, JSON.stringify({ ...kept, armed: true }));
}

// A page that learns she was signed out (its live stream is refused) hides its forms: what
// she had typed in `form` is given back once she has signed in again.
export function keepTypedIn(form) {
  const fields = typedInto(form);
  if (!fields.some(([, value, checked]) => checked === null && value !== "")) return;
  const kept = {
    path: location.pathname,
    action: form.getAttribute("action"),
    person: signedIn(),
    fields,
  };
  sessionStorage.setItem(KEY, JSON.stringify({ ...kept, armed: true }));
}

function giveBack(kept) {
  const form = [...document.forms].find((f) => f.getAttribute("action") === kept.action);
  if (!form) return;
  for (const [name, value, checked] of kept.fields) {
    for (const field of form.elements) {
      if (field.name !== name || !KEPT_TYPES.has(field.type) || field.disabled) continue;
      if (checked === null) {
        field.value = value;
        // What she typed in a part of the form she had opened is shown, not kept out of sight.
        const part = field.closest("details");
        if (part && value !== "") part.open = true;
      } else if (field.value === value) {
        field.checked = checked;
      } else {
        continue;
      }
      // The page's own scripts follow the form (the warning that nobody would hear an alarm).
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  const said = document.createElement("p");
  said.className = "notice";
  said.id = "typed-back";
  said.setAttribute("role", "status");
  const secret = form.querySelector('input[type="password"]') !== null;
  said.textContent =
    "What you typed before signing in again is back. Check it" +
    (secret ? ", type your PIN again," : "") +
    " and send it again.";
  form.before(said);
}

export function keepTyped() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    const action = form.getAttribute("action");
    if (action === SIGN_OUT) {
      sessionStorage.removeItem(KEY); // whoever signs in next is someone else, perhaps
      return;
    }
    if (action === SIGN_IN) return; // signing in again keeps what she typed
    const fields = typedInto(form);
    if (fields.length === 0) return; // a button alone ("I'm on it"): nothing typed
    const kept = { path: location.pathname, action, person: signedIn(), fields };
    sessionStorage.setItem(KEY, JSON.stringify({ ...kept, armed: false }));
  });
  if (document.querySelector("[data-signed-out]")) {
    armTyped(); // the page saying she was signed out (said.html)
    return;
  }
  if (location.pathname === SIGN_IN) return; // on her way back
  const kept = read();
  sessionStorage.removeItem(KEY);
  const hers = kept && kept.person !== null && kept.person === signedIn();
  if (hers && kept.armed && kept.path === location.pathname) {
    // Once the page's own scripts run (they follow the fields given back: the map's mark).
    document.addEventListener("DOMContentLoaded", () => giveBack(kept));
  }
}
