// registry-admin: tiny behaviours without a build step.
// Copy buttons: <button data-copy="text">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  navigator.clipboard?.writeText(button.dataset.copy).then(() => {
    if (button.dataset.copyIcon !== undefined) {  // an icon: marked for a moment, its picture kept
      button.classList.add("copied");
      setTimeout(() => button.classList.remove("copied"), 1200);
      return;
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
});

// Dialogs loaded by htmx (delete confirmations): <button data-close-dialog> and Esc remove the
// <dialog>. Closing a dialog that deleted nothing clears the selection it was opened for, so
// boxes ticked for a cancelled delete are not deleted by the next click.
function closeDialog(dialog) {
  if (!dialog) return;
  const done = dialog.querySelector("[data-testid=delete-gc-note]") !== null;
  dialog.remove();
  if (!done) clearSelection();
}

function clearSelection() {
  for (const form of document.querySelectorAll("form[data-selection]")) {
    for (const element of form.elements) {
      if (element.type === "checkbox") element.checked = false;
    }
    for (const box of document.querySelectorAll(`[data-select-all="${form.id}"]`)) box.checked = false;
    updateSelectionCount(form);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-close-dialog]");
  if (!button) return;
  closeDialog(button.closest("dialog"));
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const dialogs = document.querySelectorAll("dialog[open]");
  if (dialogs.length) {
    event.preventDefault();
    closeDialog(dialogs[dialogs.length - 1]);
  }
});

// A form marked data-selection names its checked boxes' count in its [data-selection-count]
// button ("Delete the 3 selected tags…") and disables it while none is ticked.
function updateSelectionCount(form) {
  const count = Array.from(form.elements).filter((e) => e.type === "checkbox" && e.name && e.checked).length;
  for (const button of form.querySelectorAll("[data-selection-count]")) {
    const noun = count === 1 ? button.dataset.one : button.dataset.many;
    button.textContent = count ? button.dataset.label.replace("{n}", count).replace("{noun}", noun) : button.dataset.empty;
    button.disabled = count === 0;
  }
}

document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.type !== "checkbox") return;
  const form = box.form || document.getElementById(box.dataset.selectAll || "");
  if (form?.dataset.selection !== undefined) updateSelectionCount(form);
});

function initSelections(root) {
  for (const form of root.querySelectorAll("form[data-selection]")) updateSelectionCount(form);
}
document.addEventListener("DOMContentLoaded", () => initSelections(document));
document.addEventListener("htmx:afterSettle", () => initSelections(document));

// <input type="checkbox" data-select-all="FORM_ID"> ticks every checkbox of that form.
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-select-all]");
  if (!box) return;
  const form = document.getElementById(box.dataset.selectAll);
  if (!form) return;
  for (const element of form.elements) {  // includes checkboxes outside it with form="FORM_ID"
    if (element.type === "checkbox") element.checked = box.checked;
  }
  if (form.dataset.selection !== undefined) updateSelectionCount(form);
});

// htmx leaves 4xx/5xx answers unswapped; targets marked data-swap-errors show them (the
// catalog's banner saying the registry cannot be reached, or that a name is not valid).
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && event.detail.target?.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// <input data-filter-log="PRE_ID">: shows only the log lines (<span class="log-line">) containing the text.
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-filter-log]");
  if (!input) return;
  const pre = document.getElementById(input.dataset.filterLog);
  if (!pre) return;
  const needle = input.value.trim().toLowerCase();
  for (const line of pre.querySelectorAll(".log-line")) {
    line.hidden = needle !== "" && !line.textContent.toLowerCase().includes(needle);
  }
});

// The pause banner on every page: <strong data-banner-countdown="ISO deadline"> counts down.
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  function tick() {
    for (const el of document.querySelectorAll("[data-banner-countdown]")) {
      const left = Math.round((Date.parse(el.dataset.bannerCountdown) - Date.now()) / 1000);
      if (left <= 0) { el.textContent = "a moment"; continue; }
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
    }
  }
  document.addEventListener("DOMContentLoaded", () => { tick(); setInterval(tick, 1000); });
})();

// <form data-confirm="question"> asks before submitting (no inline onsubmit: the CSP forbids it).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// <details data-open-wide>: filters folded on phones (the first screen shows rows), open on wide
// screens, where CSS hides their summary (issue 25).
function openWide(root) {
  if (!window.matchMedia("(min-width: 901px)").matches) return;
  for (const details of root.querySelectorAll("details[data-open-wide]")) details.open = true;
}
document.addEventListener("DOMContentLoaded", () => openWide(document));
