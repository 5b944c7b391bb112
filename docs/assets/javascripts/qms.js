// Filters of generated tables (修订历史): show rows whose data-* match every chosen filter.
document.addEventListener("DOMContentLoaded", () => {
  const selects = [...document.querySelectorAll("select[data-filter]")];
  const rows = [...document.querySelectorAll("table[data-filtered] tbody tr")];
  const apply = () => {
    for (const row of rows) {
      row.hidden = selects.some((s) => s.value && row.dataset[s.dataset.filter] !== s.value);
    }
  };
  for (const s of selects) s.addEventListener("change", apply);
});
