// The Storage page: stored bytes over 30 days (Chart.js, vendored), from the statistics samples.
(() => {
  "use strict";
  const source = document.getElementById("growth-data");
  const canvas = document.getElementById("chart-growth");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const points = JSON.parse(source.textContent);

  const units = ["B", "KB", "MB", "GB", "TB"];
  function bytes(value) {
    let v = Number(value), i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
  }
  const pad = (n) => String(n).padStart(2, "0");
  const when = (ms) => { const d = new Date(ms); return `${d.getMonth() + 1}/${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}`; };
  const series = (field) => points.filter((p) => p[field] !== null).map((p) => ({ x: Date.parse(p.collected_at), y: p[field] }));
  const colors = ["#1e88e5", "#43a047"];
  const datasets = [
    { label: "On disk", data: series("storage_bytes") },
    { label: "Referenced by tags", data: series("referenced_bytes") },
  ].map((d, i) => ({ ...d, borderColor: colors[i], backgroundColor: colors[i], borderWidth: 2, pointRadius: d.data.length > 60 ? 0 : 2 }));

  new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: true, aspectRatio: 3, parsing: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", ticks: { callback: (v) => when(v), maxTicksLimit: 6 } },
        y: { beginAtZero: true, ticks: { callback: (v) => bytes(v) } },
      },
      plugins: {
        tooltip: { callbacks: {
          title: (items) => (items.length ? new Date(items[0].parsed.x).toLocaleString() : ""),
          label: (item) => `${item.dataset.label}: ${bytes(item.parsed.y)}`,
        } },
      },
    },
  });
})();
