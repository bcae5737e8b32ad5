// The Registry page: statistics charts (Chart.js, vendored) and the snapshot-pause countdown.
(() => {
  "use strict";

  // --- Countdown: <strong data-countdown="ISO deadline">, refreshed every second. When it
  // reaches zero the panel is asked to reload (the worker has resumed the registry).
  const pad = (n) => String(n).padStart(2, "0");
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach((el) => {
      const left = Math.round((Date.parse(el.dataset.countdown) - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = "now";
        if (!el.dataset.fired) {
          el.dataset.fired = "1";
          setTimeout(() => document.body.dispatchEvent(new Event("refresh-panel")), 2000);
        }
        return;
      }
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);

  // --- Charts -----------------------------------------------------------------------------
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const points = data.points;
  const spanDays = { "24h": 1, "7d": 7, "30d": 30 }[data.range] || 1;

  const units = ["B", "KB", "MB", "GB", "TB"];
  function bytes(value) {
    let v = Number(value), i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
  }
  function when(ms) {
    const d = new Date(ms);
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return spanDays > 1 ? `${d.getMonth() + 1}/${d.getDate()} ${time}` : time;
  }
  const series = (field) => points.filter((p) => p[field] !== null).map((p) => ({ x: p.t, y: p[field] }));
  const colors = ["#1e88e5", "#d81b60", "#43a047", "#fb8c00"];

  // A chart with nothing to draw says so, instead of empty axes ("1 B, 1 B", "00:00 00:00").
  function noData(canvas) {
    const note = document.createElement("p");
    note.className = "muted chart-no-data";
    note.dataset.testid = "chart-no-data";
    note.textContent = "No data yet: the registry or the engine did not answer when statistics were collected.";
    canvas.replaceWith(note);
  }

  function lineChart(id, datasets, yFormat) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    if (datasets.every((d) => d.data.length === 0)) { noData(canvas); return; }
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: datasets.map((d, i) => ({
          label: d.label, data: d.data, borderColor: colors[i], backgroundColor: colors[i],
          borderDash: d.dash || [], pointRadius: d.data.length > 60 ? 0 : 2, borderWidth: 2, stepped: d.stepped || false,
        })),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: true, aspectRatio: 2, parsing: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", ticks: { callback: (v) => when(v), maxTicksLimit: 6 } },
          y: { beginAtZero: true, ticks: { callback: (v) => (yFormat ? yFormat(v) : v) } },
        },
        plugins: {
          tooltip: { callbacks: {
            title: (items) => (items.length ? new Date(items[0].parsed.x).toLocaleString() : ""),
            label: (item) => `${item.dataset.label}: ${yFormat ? yFormat(item.parsed.y) : item.parsed.y}`,
          } },
        },
      },
    });
  }

  lineChart("chart-cpu", [{ label: "CPU %", data: series("cpu_percent") }], (v) => `${Number(v).toFixed(1)} %`);
  // Against the container's limit; without one (docker reports the host's memory) the use alone, scaled to it.
  const memory = [{ label: "Memory used", data: series("memory_bytes") }];
  if (data.memory_limit > 0) memory.push({ label: "Container limit", data: series("memory_limit_bytes"), dash: [6, 4] });
  lineChart("chart-memory", memory, bytes);
  lineChart("chart-storage", [
    { label: "Data root on disk", data: series("storage_bytes") },
    { label: "Unique bytes referenced by tags", data: series("unique_bytes") },
  ], bytes);
  lineChart("chart-content", [
    { label: "Repositories", data: series("repository_count"), stepped: true },
    { label: "Tags", data: series("tag_count"), stepped: true },
  ]);

  const largest = document.getElementById("chart-largest");
  if (largest && !data.largest.length) noData(largest);
  else if (largest) {
    new Chart(largest, {
      type: "bar",
      data: {
        labels: data.largest.map((r) => r.name),
        datasets: [{ label: "Unique bytes", data: data.largest.map((r) => r.unique_bytes), backgroundColor: colors[0] }],
      },
      options: {
        animation: false, indexAxis: "y", responsive: true, aspectRatio: 2,
        scales: { x: { beginAtZero: true, ticks: { callback: (v) => bytes(v) } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => bytes(item.parsed.x) } } },
      },
    });
  }
})();
