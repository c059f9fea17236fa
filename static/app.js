// oms_web's only script of its own: the CSRF header for htmx, keyboard shortcuts, select-all, polls
// only while someone can see them.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// Keyboard shortcuts. A page declares its own in the template: data-shortcut="e" on a link or button
// clicks it, on a field or a form focuses (its first) field, on a <details> opens it; data-shortcut-label
// names it in the help (else its text). The first one of a key in page order that can act is the key's.
// A list declares its rows (data-rows="order" on the tbody, data-row="<id>" on each row): j/k or the
// arrows move the current row, Enter opens its link, x toggles its checkbox. "/" focuses the search
// ([data-search]) and "?" lists what this page has. None fires while typing in a field, nor with
// Ctrl, Alt or Meta held (those are the browser's and the system's).
const ROW_KEYS = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };

function typingIn(element) {
  if (!element) return false;
  if (element.isContentEditable || ["TEXTAREA", "SELECT"].includes(element.tagName)) return true;
  return element.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(element.type);
}

function shown(element) {
  return element.getClientRects().length > 0 && !element.closest("[hidden], dialog:not([open])");
}

function rowsOf(list) { return Array.from(list.querySelectorAll("[data-row]")); }
function currentRow() { return document.querySelector("[data-rows] [data-row].is-current"); }

function makeCurrent(row, { focus = true } = {}) {
  document.querySelectorAll("[data-row].is-current").forEach((other) => other.classList.remove("is-current"));
  if (!row) return;
  row.classList.add("is-current");
  row.tabIndex = -1;
  if (focus) {
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }
}

function moveRow(step) {
  const list = document.querySelector("[data-rows]");
  const rows = list ? rowsOf(list) : [];
  if (!rows.length) return false;
  const at = rows.indexOf(currentRow());
  const next = at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + step));
  makeCurrent(rows[next]);
  return true;
}

const FIELDS = "input:not([type=hidden]), textarea, select";

// What a key's element does: a link, button or summary is clicked, a <details> opened, a field focused,
// and any other element (a form, a table) focuses its first field. Null when there is nothing to do.
function actionOf(element) {
  if (!shown(element) || element.disabled) return null;
  if (["A", "BUTTON", "SUMMARY"].includes(element.tagName)) return () => element.click();
  if (element.tagName === "DETAILS") {
    return () => { element.open = true; element.querySelector(FIELDS + ", button")?.focus(); };
  }
  const field = element.matches(FIELDS) ? element
    : Array.from(element.querySelectorAll(FIELDS)).find((inside) => shown(inside) && !inside.disabled);
  if (!field) return null;
  return () => { field.focus(); if (field.select && field.type !== "checkbox") field.select(); };
}

// The first element for each key, in page order, that has something to do: what the key does here,
// and what the help lists.
function pageShortcuts() {
  const found = new Map();
  document.querySelectorAll("[data-shortcut]").forEach((element) => {
    const key = element.dataset.shortcut;
    const action = found.has(key) ? null : actionOf(element);
    if (action) found.set(key, { element, action });
  });
  return found;
}

function shortcutLabel(element) {
  if (element.dataset.shortcutLabel) return element.dataset.shortcutLabel;
  const label = element.labels?.[0] || (element.tagName === "DETAILS" ? element.querySelector("summary") : null);
  return (label || element).textContent.replace(/\s+/g, " ").trim();
}

function helpEntries() {
  const entries = [];
  const list = document.querySelector("[data-rows]");
  if (list && rowsOf(list).length) {
    const noun = list.dataset.rows || "row";
    entries.push(["j  ↓", `Next ${noun}`], ["k  ↑", `Previous ${noun}`], ["Enter", `Open the ${noun}`]);
    if (list.querySelector("[data-row] input[type=checkbox]")) entries.push(["x", `Select or unselect the ${noun}`]);
  }
  if (document.querySelector("[data-search]")) entries.push(["/", "Search"]);
  pageShortcuts().forEach(({ element }, key) => entries.push([key, shortcutLabel(element)]));
  entries.push(["?", "This list"], ["Esc", "Close this list, or leave a field"]);
  return entries;
}

function showHelp() {
  let dialog = document.getElementById("shortcut-help");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "shortcut-help";
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-labelledby", "shortcut-help-title");
    document.body.append(dialog);
    dialog.addEventListener("click", (event) => { if (event.target === dialog || event.target.matches("[data-close]")) dialog.close(); });
  }
  const title = document.createElement("h2");
  title.id = "shortcut-help-title";
  title.textContent = "Keyboard shortcuts";
  const table = document.createElement("dl");
  helpEntries().forEach(([keys, what]) => {
    const term = document.createElement("dt");
    keys.split("  ").forEach((key) => { const kbd = document.createElement("kbd"); kbd.textContent = key; term.append(kbd, " "); });
    const description = document.createElement("dd");
    description.textContent = what;
    table.append(term, description);
  });
  const close = document.createElement("button");
  close.type = "button";
  close.dataset.close = "";
  close.textContent = "Close";
  dialog.replaceChildren(title, table, close);
  dialog.showModal();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing || event.defaultPrevented) return;
  const active = document.activeElement;
  // Esc leaves a field (what was typed stays), so that the page's keys work again without the mouse.
  if (event.key === "Escape" && typingIn(active) && !active.closest("dialog")) { active.blur(); return; }
  if (typingIn(active) || document.querySelector("dialog[open]")) return;
  const handled = () => event.preventDefault();
  if (event.key === "?") { handled(); showHelp(); return; }
  if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (search) { handled(); search.focus(); search.select(); }
    return;
  }
  if (event.key in ROW_KEYS && !event.shiftKey) {
    if (moveRow(ROW_KEYS[event.key])) handled();
    return;
  }
  const row = currentRow();
  // Enter opens the current row when it, or its checkbox, has the focus: on a link or button it is theirs.
  if (row && event.key === "Enter" && (active === row || active === document.body
                                       || (row.contains(active) && active.type === "checkbox"))) {
    const open = row.querySelector("a[data-open]") || row.querySelector("a[href]");
    if (open) { handled(); open.click(); }
    return;
  }
  if (row && event.key === "x") {
    const box = row.querySelector("input[type=checkbox]");
    if (box) { handled(); box.click(); }
    return;
  }
  const target = pageShortcuts().get(event.key);
  if (target) { handled(); target.action(); }
});

// The current row outlives a refresh of its list (a poll, an action elsewhere): the same order if it is
// still listed, else the row at its place while someone was moving through the list.
let kept = null;
document.addEventListener("htmx:beforeSwap", () => {
  const row = currentRow();
  if (!row) { kept = null; return; }
  kept = { id: row.dataset.row, index: rowsOf(row.closest("[data-rows]")).indexOf(row),
           focused: document.activeElement === row || document.activeElement === document.body };
});
document.addEventListener("htmx:afterSettle", () => {
  if (!kept || currentRow()) return;
  const list = document.querySelector("[data-rows]");
  const rows = list ? rowsOf(list) : [];
  const same = rows.find((row) => row.dataset.row === kept.id);
  const row = same || (kept.focused ? rows[Math.min(kept.index, rows.length - 1)] : null);
  if (row) makeCurrent(row, { focus: kept.focused });
  kept = null;
});
// A row clicked becomes the current one, so the keys go on from where the mouse left off.
document.addEventListener("click", (event) => {
  const row = event.target.closest?.("[data-rows] [data-row]");
  if (row) makeCurrent(row, { focus: false });
});

// Focus that a swap took away (the button pressed was in the part replaced: "Cancel shipment", "Save
// lines") goes to the part that replaced it: its refusal if it shows one, else its heading. The keyboard
// goes on from there (Tab to its next control), not from the top of the page.
let focusedPart = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const active = document.activeElement;
  focusedPart = target && target.id && active && active !== document.body && target.contains(active) ? target.id : null;
});
document.addEventListener("htmx:afterSettle", () => {
  const id = focusedPart;
  focusedPart = null;
  if (!id || (document.activeElement && document.activeElement !== document.body)) return;
  const part = document.getElementById(id);
  if (!part) return;
  const spot = part.querySelector("[role=alert]") || part.querySelector("h1, h2, h3") || part;
  if (!spot.matches("a[href], button, input, select, textarea, [tabindex]")) spot.tabIndex = -1;
  spot.focus({ preventScroll: true });
});

// Screen readers announce a control's shortcut.
function announceShortcuts() {
  document.querySelectorAll("[data-shortcut]").forEach((element) => element.setAttribute("aria-keyshortcuts", element.dataset.shortcut));
}
document.addEventListener("DOMContentLoaded", announceShortcuts);
document.addEventListener("htmx:load", announceShortcuts);

// A back link goes back when the page came from where it points (the board keeps its segment, search and
// page that way); otherwise it is an ordinary link.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-back]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || !document.referrer) return;
  const from = new URL(document.referrer);
  if (from.origin === location.origin && from.pathname === new URL(link.href).pathname && history.length > 1) {
    event.preventDefault();
    history.back();
  }
});

function updateSelectedCount() {
  const label = document.getElementById("selected-count");
  if (!label) return;
  const scope = document.getElementById("selection-scope");
  const banner = document.getElementById("select-matching");
  if (scope && scope.value === "filter" && banner) {
    const n = Number(banner.dataset.matching).toLocaleString("en");
    label.textContent = `All ${n} orders matching this filter selected`;
    return;
  }
  const n = document.querySelectorAll('input[name="order_ids"]:checked').length;
  label.textContent = n ? `${n} order${n === 1 ? "" : "s"} selected` : "No orders selected";
}

// The bulk actions' scope: the ticked rows, or every order the board's filter finds (all its pages; the
// server finds them again from the filter). Offered once every row of a page with more pages is ticked.
function setSelectionScope(whole) {
  const scope = document.getElementById("selection-scope");
  const banner = document.getElementById("select-matching");
  if (scope) scope.value = whole ? "filter" : "";
  if (banner) {
    const all = document.getElementById("select-all");
    banner.hidden = !(all && all.checked);
    const toMatching = banner.querySelector("[data-select-matching]");
    const toPage = banner.querySelector("[data-select-page]");
    if (toMatching) toMatching.hidden = whole;
    if (toPage) toPage.hidden = !whole;
  }
  updateSelectedCount();
}

document.addEventListener("change", (event) => {
  if (event.target.id === "select-all") {
    document.querySelectorAll('input[name="order_ids"]').forEach((box) => { box.checked = event.target.checked; });
  }
  if (event.target.id === "select-all" || event.target.name === "order_ids") {
    if (event.target.name === "order_ids" && !event.target.checked) {
      const all = document.getElementById("select-all");
      if (all) all.checked = false;
    }
    setSelectionScope(false);
  }
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-select-matching]")) setSelectionScope(true);
  else if (event.target.closest("[data-select-page]")) setSelectionScope(false);
});
document.addEventListener("htmx:afterSettle", updateSelectedCount);

// A plain (non-htmx) form button that needs a second thought: <button data-confirm="What will happen.">
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// A poll worth its requests only while someone looks at it: an element marked data-poll-while-visible
// makes no request while its tab is hidden, and refreshes at once when the tab shows again (add
// "tab-visible from:document" to its hx-trigger). Here and not in an hx-trigger filter
// ([document.visibilityState === 'visible']): htmx evaluates filters with eval, which the CSP forbids.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.visibilityState === "hidden" && event.detail.elt.matches("[data-poll-while-visible]")) {
    event.preventDefault();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") document.dispatchEvent(new Event("tab-visible"));
});

// A table marked data-stack is laid out as stacked rows on a narrow screen (app.css): each cell says
// which column it is from its header, so the template keeps one header and no repeated labels.
function labelStackedCells() {
  document.querySelectorAll("table[data-stack]").forEach((table) => {
    const headers = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((row) => {
      Array.from(row.cells).forEach((cell, index) => {
        if (cell.colSpan === 1 && headers[index]) cell.dataset.label = headers[index];
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", labelStackedCells);
document.addEventListener("htmx:load", labelStackedCells);

// On a narrow screen the segment tabs and the main menu scroll sideways in their own strip: the chosen
// one is scrolled into the strip (only sideways: the page itself stays where it is, through every poll).
function showCurrentInStrips() {
  document.querySelectorAll(".tabs [aria-current], .topbar nav [aria-current]").forEach((chosen) => {
    const strip = chosen.parentElement;
    if (strip.scrollWidth <= strip.clientWidth) return;
    const box = strip.getBoundingClientRect(), at = chosen.getBoundingClientRect();
    if (at.left < box.left || at.right > box.right) strip.scrollLeft += at.left - box.left - 8;
  });
}
document.addEventListener("DOMContentLoaded", showCurrentInStrips);
document.addEventListener("htmx:load", showCurrentInStrips);
