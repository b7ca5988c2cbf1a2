// "Use this browser's time zone": fills a time zone field with the zone the browser is in
// (a button marked data-zone-for="<field id>", shown only when the zone differs).

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

for (const button of document.querySelectorAll("[data-zone-for]")) {
  const field = document.getElementById(button.dataset.zoneFor);
  if (field && zone && field.value !== zone) {
    button.textContent = `Use this browser's: ${zone}`;
    button.hidden = false;
    button.addEventListener("click", () => {
      field.value = zone;
      button.hidden = true;
      field.focus();
    });
  }
}

// A time zone field marked data-zone-default starts as the browser's, when nothing is in it.
for (const field of document.querySelectorAll("[data-zone-default]")) {
  if (!field.value && zone) field.value = zone;
}
