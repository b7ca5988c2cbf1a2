// "Add a channel" where the service sends email itself: the address field is the chosen
// kind's, her email address for "Email" and a URL for the others, and only it is required
// and sent. Without this script both fields show, each saying what it is for, and the
// service reads the chosen kind's (web/manage_channels.py).

const form = document.querySelector('form[action="/channels"]');
const groups = form ? [...form.querySelectorAll("[data-kinds]")] : [];

function show() {
  const chosen = form.querySelector('input[name="kind"]:checked');
  const kind = chosen ? chosen.value : "";
  for (const group of groups) {
    const on = group.dataset.kinds.split(" ").includes(kind);
    group.hidden = !on;
    for (const input of group.querySelectorAll("input")) {
      input.disabled = !on; // a hidden field is neither checked by the browser nor sent
      input.required = on;
    }
  }
}

if (groups.length) {
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") show();
  });
  show();
}
