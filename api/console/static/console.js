// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // No animation: a chart shows its figures at once (and a screenshot shows them right).
  if (window.Chart) window.Chart.defaults.animation = false;
  // A chart whose figures are all whole numbers (the cohort's counts of teachers) gets
  // whole-number ticks on its value axis: 0.5 of a teacher is never a tick. A chart with a
  // fractional figure (hours such as 1.5) keeps Chart.js's own ticks.
  function countAxis(spec) {
    var data = (spec.data && spec.data.datasets) || [];
    var whole = data.length > 0 && data.every(function (d) {
      return (d.data || []).every(function (v) { return v === null || Number.isInteger(Number(v)); });
    });
    if (!whole) return;
    var options = spec.options = spec.options || {};
    var scales = options.scales = options.scales || {};
    var axis = options.indexAxis === "y" ? "x" : "y";
    var scale = scales[axis] = scales[axis] || {};
    scale.ticks = Object.assign({precision: 0}, scale.ticks || {});
    scale.beginAtZero = true;
  }
  function chart(el) {
    if (!window.Chart) return;
    var spec = JSON.parse(el.getAttribute("data-chart"));
    countAxis(spec);
    new window.Chart(el, spec);
  }
  document.querySelectorAll("canvas[data-chart]").forEach(chart);

  // The auditor's chain verification, range by range, with a progress bar.
  var runner = document.getElementById("verify-chain");
  if (runner) {
    runner.addEventListener("click", async function (event) {
      event.preventDefault();
      var head = parseInt(runner.getAttribute("data-head"), 10);
      var chunk = parseInt(runner.getAttribute("data-chunk"), 10);
      var bar = document.getElementById("chain-progress");
      var out = document.getElementById("chain-result");
      bar.max = Math.max(head, 1); bar.value = 0; out.textContent = "";
      for (var from = 1; from <= head; from += chunk) {
        var to = Math.min(head, from + chunk - 1);
        var reply = await fetch("/console/auditor/verification?from=" + from + "&to=" + to, {credentials: "same-origin"});
        var report = await reply.json();
        bar.value = to;
        document.getElementById("chain-count").textContent = to + " / " + head;
        if (!reply.ok || report.intact === false || report.ok === false) {
          out.className = "bad"; out.textContent = runner.getAttribute("data-broken") + " " + JSON.stringify(report.first_break || report);
          return;
        }
      }
      out.className = "ok"; out.textContent = runner.getAttribute("data-ok");
    });
  }
})();
