// Import contacts: the progress bar follows the import; the page reloads once
// when it is done, so the report shows every row's outcome.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box || box.dataset.state === "done" || box.dataset.state === "failed") { return; }
  var bar = document.getElementById("import-progress");
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function tick() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.max = p.total || 1;
        bar.value = p.answered;
        field("answered").textContent = p.answered.toLocaleString("en");
        field("total").textContent = p.total.toLocaleString("en");
        field("sent").textContent = p.sent.toLocaleString("en");
        field("state").textContent = p.state;
        Object.keys(p.counts).forEach(function (k) {
          var a = box.querySelector('[data-count="' + k + '"] span');
          if (a) { a.textContent = p.counts[k].toLocaleString("en"); }
        });
        if (p.state === "done" || p.state === "failed") { window.location.reload(); }
        else { window.setTimeout(tick, 1000); }
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 500);
})();
