// oms_web's only script of its own: the CSRF header for htmx, keyboard shortcuts, select-all, polls
// only while someone can see them.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
    const search = document.querySelector("[data-search]");
    if (search) { event.preventDefault(); search.focus(); search.select(); }
  }
  if (event.key === "Escape" && document.activeElement?.matches("[data-search]")) document.activeElement.blur();
});

function updateSelectedCount() {
  const label = document.getElementById("selected-count");
  if (!label) return;
  const n = document.querySelectorAll('input[name="order_ids"]:checked').length;
  label.textContent = n ? `${n} order${n === 1 ? "" : "s"} selected` : "No orders selected";
}

document.addEventListener("change", (event) => {
  if (event.target.id === "select-all") {
    document.querySelectorAll('input[name="order_ids"]').forEach((box) => { box.checked = event.target.checked; });
  }
  if (event.target.id === "select-all" || event.target.name === "order_ids") updateSelectedCount();
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
