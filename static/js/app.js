// registry-admin: tiny behaviours without a build step.
// Copy buttons: <button data-copy="text">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  navigator.clipboard?.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
});

// Dialogs loaded by htmx (delete confirmations): <button data-close-dialog> removes its <dialog>.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-close-dialog]");
  if (!button) return;
  button.closest("dialog")?.remove();
});

// <input type="checkbox" data-select-all="FORM_ID"> ticks every checkbox of that form.
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-select-all]");
  if (!box) return;
  const form = document.getElementById(box.dataset.selectAll);
  if (!form) return;
  for (const element of form.elements) {  // includes checkboxes outside it with form="FORM_ID"
    if (element.type === "checkbox") element.checked = box.checked;
  }
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

// <form data-confirm="question"> asks before submitting (no inline onsubmit: the CSP forbids it).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
