// "2:40 left" to answer "Are you OK?", counted down every second by the service's clock: a
// clock time alone ("Answer by 01:50") asks a frightened person at night to do sums. Said by
// the script alone: a page without it would show a count that stands still.

export function timeLeft(ms) {
  const seconds = Math.ceil(ms / 1000);
  if (seconds <= 0) return "Time is up";
  const rest = String(seconds % 60).padStart(2, "0");
  return `${Math.floor(seconds / 60)}:${rest} left`;
}

// The element with this id (looked up at each tick: a page may put a new one in its place)
// says the time left until its `data-until` (ms, the service's time), while it is shown.
export function keepTimeLeft(id, now) {
  const tick = () => {
    const element = document.getElementById(id);
    if (!element || !element.dataset.until) return;
    element.hidden = false;
    const said = timeLeft(Number(element.dataset.until) - now());
    if (element.textContent !== said) element.textContent = said;
  };
  tick();
  setInterval(tick, 1000);
}
