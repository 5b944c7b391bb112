// Progressive enhancement of record forms; every form works without this script.
document.addEventListener("DOMContentLoaded", () => {
  for (const item of document.querySelectorAll(".item")) {
    const details = item.querySelector("details.nc");
    const count = item.querySelector("input.count");
    const notApplicable = item.querySelector('input[type=checkbox][value="不适用"]');
    const open = () => {
      const failing = [...item.querySelectorAll("input[type=radio]:checked")].some(
        (r) => !["合格", "符合", "不适用"].includes(r.value) || r.value === "不合格" || r.value === "不符合");
      const counted = count && Number(count.value) > 0;
      if (details && (failing || counted)) details.open = true;
    };
    item.addEventListener("change", open);
    if (count && notApplicable) {
      const sync = () => { count.disabled = notApplicable.checked; if (notApplicable.checked) count.value = ""; };
      notApplicable.addEventListener("change", sync);
      sync();
    }
  }
  // One submission per form: a second click while the first is on its way does nothing.
  for (const form of document.querySelectorAll("form.record-form")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = "正在提交…"; }
    });
  }
  // Report pages: a print button.
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
