// While a backfill runs, its numbers are read again every second (from the cursor,
// through the console); when it stops, the page is drawn again with its actions.
const box = document.querySelector("[data-backfill-progress]");
if (box && box.dataset.state === "running") {
  const url = `/poll-historical-data/progress?object=${encodeURIComponent(box.dataset.object)}`;
  const show = (name, text) => {
    const el = box.querySelector(`[data-field=${name}]`);
    if (el) el.textContent = text;
  };
  const number = (n) => (n === null ? "?" : n.toLocaleString("en-US"));
  const tick = async () => {
    try {
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok) {
        const p = await answer.json();
        if (p.state !== "running") return window.location.reload();
        show("read", number(p.read));
        show("total", number(p.total));
        show("percent", p.percent);
        show("rate", p.rate === null ? "?" : p.rate);
        show("eta", p.eta);
        show("updated_at", p.updated_at || "-");
        box.querySelector("[data-field=bar]").value = p.percent;
      }
    } catch (e) {
      // The console restarting: try again at the next tick.
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}
