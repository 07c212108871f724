// A small SVG chart for the README: per-request time and module size of each add-header build.

/** One bar pair. */
export interface ChartRow {
  label: string;
  bytes: number;
  medianUs: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Two horizontal bar panels (time, size) as an SVG document. */
export function renderChart(rows: ChartRow[]): string {
  const rowH = 28;
  const labelW = 120;
  const barW = 260;
  const panelW = labelW + barW + 90;
  const top = 48;
  const height = top + rows.length * rowH + 24;
  const panel = (x0: number, title: string, value: (r: ChartRow) => number, text: (r: ChartRow) => string, color: string) => {
    const max = Math.max(...rows.map(value));
    const bars = rows.map((r, i) => {
      const y = top + i * rowH;
      const w = Math.max(2, Math.round((value(r) / max) * barW));
      return `<text x="${x0 + labelW - 8}" y="${y + 17}" text-anchor="end">${esc(r.label)}</text>` +
        `<rect x="${x0 + labelW}" y="${y + 4}" width="${w}" height="${rowH - 10}" fill="${r.label === "pwasm" ? color : "#9aa5b1"}"/>` +
        `<text x="${x0 + labelW + w + 6}" y="${y + 17}">${esc(text(r))}</text>`;
    });
    return `<text x="${x0 + labelW}" y="28" font-weight="bold">${esc(title)}</text>${bars.join("")}`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${panelW * 2}" height="${height}" font-family="sans-serif" font-size="13">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    panel(0, "median time per request (µs, lower is better)", (r) => r.medianUs, (r) => r.medianUs.toFixed(2), "#2f6fde") +
    panel(panelW, "module size (bytes, lower is better)", (r) => r.bytes, (r) => r.bytes.toLocaleString("en-US"), "#1f9d55") +
    `</svg>\n`;
}
