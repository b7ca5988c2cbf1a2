// What a page keeps in sight at its top as he scrolls (another walk's alarm, "No network")
// may take only a little of the screen: at large text or on a small phone it covered the
// page under it, the alarm he was acting on with it (an outside review: 560 px of a 568 px
// screen). Taller than a quarter of the screen, it stays where it is in the page instead.

const SHARE = 0.25;

export function keepShort(element) {
  if (!element) return;
  const fit = () =>
    element.classList.toggle("unstuck", element.offsetHeight > window.innerHeight * SHARE);
  new ResizeObserver(fit).observe(element); // shown, hidden, its words changed
  window.addEventListener("resize", fit);
}
