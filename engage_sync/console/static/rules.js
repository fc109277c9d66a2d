// Choosing another field redraws the rules form, so the operators fit its type.
for (const select of document.querySelectorAll("#rules-form [data-refresh]")) {
  select.addEventListener("change", () => select.form.submit());
}
