// A bulletin's page (通报): the bar chart of the orgs it covers, one measure at a time (the select), drawn
// with ECharts from the snapshot the page carries (json_script "bulletin-chart": measures and per-org
// values). Rates are shown as percentages, times in seconds; an org with nothing measured has no bar.
(function () {
  "use strict";

  function readJson(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  function start() {
    const box = document.querySelector(".bulletin-chart");
    const select = document.querySelector(".bulletin-measure");
    if (!box || !select || typeof echarts === "undefined") return;
    const data = readJson("bulletin-chart");
    const chart = echarts.init(box);

    function draw() {
      const m = (data.measures || []).find(function (x) { return x.key === select.value; }) || {};
      const rate = m.unit === "rate";
      const values = (data.orgs || []).map(function (o) {
        const v = o.values[m.key];
        return v === null || v === undefined ? null : (rate ? Math.round(v * 1000) / 10 : Math.round(v));
      });
      chart.setOption({
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 24, bottom: 48 },
        xAxis: { type: "category", data: (data.orgs || []).map(function (o) { return o.name; }) },
        yAxis: { type: "value", axisLabel: { formatter: rate ? "{value}%" : "{value}" }, max: rate ? 100 : null },
        series: [{ type: "bar", name: m.label, data: values, label: { show: true, position: "top" } }],
      }, true);
      box.dataset.drawn = m.key || "";
    }

    select.addEventListener("change", draw);
    window.addEventListener("resize", function () { chart.resize(); });
    draw();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
