// "Send a test": how it went, said in place as soon as the service knows (it said "Reload in
// a moment to see how it went"). Asks every 2 s for a minute; a page without this script
// still says to reload.

const said = document.getElementById("test-said");
const EVERY_MS = 2000;
const FOR_MS = 60000;

async function look(started) {
  if (!said) return;
  let found;
  try {
    const answer = await fetch("/api/channels", { cache: "no-store" });
    if (!answer.ok) return; // signed out meanwhile: the reload the notice asks for says so
    found = (await answer.json()).find((ch) => String(ch.id) === said.dataset.channel);
  } catch {
    found = undefined; // offline for a moment: asked again
  }
  const label = said.dataset.label;
  const card = document.getElementById(`channel-${said.dataset.channel}`);
  // Worked since a minute before the page: the test was sent just before it.
  const since = Number(said.dataset.since);
  if (found && found.worked_at && found.worked_at >= since) {
    // An email's test is known only to have been taken by the mail server: whether it reached
    // the inbox (not the spam folder) is for her to see.
    said.textContent =
      found.kind === "email"
        ? `The mail server took the test for “${label}”: check that it arrived (and not among spam).`
        : `The test reached “${label}”: it works.`;
    said.className = "notice good";
    if (card) card.textContent = `${card.dataset.name}: works`;
    return;
  }
  if (found && found.failures > 0 && found.last_error) {
    said.textContent =
      `The test to “${label}” did not arrive: ${found.last_error}. ` +
      "It is tried again; check the address, or add another channel.";
    said.className = "notice bad";
    if (card) card.textContent = `${card.dataset.name}: failing: ${found.last_error}; trying again`;
    return;
  }
  if (Date.now() - started < FOR_MS) setTimeout(() => look(started), EVERY_MS);
  else said.textContent = `The test to “${label}” has not arrived yet. Reload later to see how it went.`;
}

if (said) {
  said.textContent = `A test is on its way to “${said.dataset.label}”…`;
  look(Date.now());
}
