// The console's only script: render Teams cards with Microsoft's renderer, and keep the alerts
// table current without a reload. Everything shown is set with textContent, never as HTML.
"use strict";

// Cards escape Markdown punctuation in their facts (`db\-1`), which Teams' Markdown turns back
// into the text; this renderer has no Markdown, so undo the escapes the same way, as text.
function plainMarkdown(text, result) {
  const shown = document.createElement("span");
  shown.textContent = text.replace(/\\([\\`*_{}\[\]()#+\-.!|~<>])/g, "$1");
  result.outputHtml = shown.innerHTML;
  result.didProcess = true;
}

function renderAdaptiveCards() {
  if (!window.AdaptiveCards) return;
  window.AdaptiveCards.AdaptiveCard.onProcessMarkdown = plainMarkdown;
  for (const host of document.querySelectorAll(".ac-host[data-card]")) {
    const card = new window.AdaptiveCards.AdaptiveCard();
    card.hostConfig = new window.AdaptiveCards.HostConfig({
      fontFamily: "Segoe UI, system-ui, sans-serif",
    });
    card.onExecuteAction = () => {}; // a picture of the card: its buttons act in Teams
    card.parse(JSON.parse(host.dataset.card));
    const rendered = card.render();
    if (rendered) host.replaceChildren(rendered);
  }
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function rowOf(alert) {
  const tr = document.createElement("tr");
  tr.dataset.id = alert.id;
  tr.append(cell(`${alert.emoji} ${alert.priority}`));
  const title = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/ui/alerts/${encodeURIComponent(alert.id)}`;
  link.textContent = alert.title;
  title.append(link);
  tr.append(title);
  tr.append(cell(alert.state + (alert.snoozed ? " · 💤" : "") + (alert.muted_by ? " · 🔕 muted by " + alert.muted_by : "")));
  tr.append(cell(alert.actor));
  tr.append(cell(alert.age));
  tr.append(cell(alert.channels.join(", ")));
  return tr;
}

async function refresh(table) {
  const url = table.dataset.live + window.location.search;
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (error) {
    return; // offline for a moment: try again at the next tick
  }
  if (response.redirected || !response.ok) return;
  const data = await response.json();
  const count = document.querySelector(".count");
  if (count) count.textContent = `${data.alerts.length} of ${data.total} shown`;
  const body = table.tBodies[0];
  const focused = document.activeElement && body.contains(document.activeElement);
  if (focused) return; // do not pull the row out from under the keyboard
  if (data.alerts.length === 0) {
    const empty = document.createElement("tr");
    empty.className = "empty";
    const td = cell("Nothing here. All quiet.");
    td.colSpan = 6;
    empty.append(td);
    body.replaceChildren(empty);
    return;
  }
  body.replaceChildren(...data.alerts.map(rowOf));
}

document.addEventListener("DOMContentLoaded", () => {
  renderAdaptiveCards();
  const table = document.querySelector("table[data-live]");
  if (table) window.setInterval(() => refresh(table), 2000);
});
