/* plantrack site: the overview's filters, search and sorting, in the browser alone (no network).
   Rows that do not match get the `hidden` attribute; the count is announced politely. */
(function () {
  "use strict";
  var table = document.querySelector("table[data-filterable]");
  var form = document.querySelector("form[data-filters]");
  if (!table || !form) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var sector = form.querySelector("[data-filter=sector]");
  var status = form.querySelector("[data-filter=status]");
  var search = form.querySelector("[data-filter=search]");
  var shown = form.querySelector("[data-shown]");

  function apply() {
    var s = sector.value, st = status.value, q = search.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (row) {
      var ok = (!s || row.getAttribute("data-sector") === s) &&
               (!st || row.getAttribute("data-status") === st) &&
               (!q || row.getAttribute("data-search").indexOf(q) >= 0);
      row.hidden = !ok;
      if (ok) n += 1;
    });
    shown.textContent = shown.getAttribute("data-template").replace("{shown}", n).replace("{total}", rows.length);
  }

  function sortBy(button) {
    var th = button.parentNode, column = Number(button.getAttribute("data-column"));
    var numeric = button.getAttribute("data-sort") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    function key(row) {
      var cell = row.cells[column];
      var v = cell.hasAttribute("data-sort-value") ? cell.getAttribute("data-sort-value") : cell.textContent.trim();
      return numeric ? (v === "" ? null : Number(v)) : v;
    }
    var keyed = rows.map(function (row, i) { return [key(row), i, row]; });
    keyed.sort(function (a, b) {
      if (a[0] === b[0]) return a[1] - b[1];
      if (a[0] === null) return 1;           // empty cells last, whichever the direction
      if (b[0] === null) return -1;
      var c = numeric ? a[0] - b[0] : String(a[0]).localeCompare(String(b[0]), document.documentElement.lang);
      return ascending ? c : -c;
    });
    keyed.forEach(function (k) { body.appendChild(k[2]); });
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  table.tHead.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-sort]");
    if (button) sortBy(button);
  });
  form.hidden = false;
  var hint = document.querySelector(".sort-hint");
  if (hint) hint.hidden = false;
  apply();
  // when the overview became usable, in ms from navigation start (tests and the benchmark read it)
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
}());
