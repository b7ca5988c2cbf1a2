// A form that ends something at once (data-confirm: the question, in words saying what it
// ends) asks first: "OK" goes on, "Cancel" keeps it and sends nothing. On every page, through
// app.js, and listened for before any other script's submit (inplace.js's posts in place),
// since app.js runs first: a "no" sends nothing either way.
//
// The browser's own confirm(), not a dialog of ours: it is the phone's own, big and modal, in
// her phone's language; it can't be hidden under the page, mis-styled, or tapped through by
// the tap that opened it, and a screen reader says it as the question it is. Without this
// script (or if it fails) the form posts as it always did: the service acts as before.

export function askFirst() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
