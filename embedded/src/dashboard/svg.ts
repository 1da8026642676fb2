import type { Series } from './history';

export interface PanelLayout {
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly unit?: string;
}

const WIDTH = 1800;
const COLUMN = WIDTH / 24;
const ROW = 32;
const PAD = 6;
// Grafana's classic palette, in its order.
const COLORS = [
  '#73bf69',
  '#f2cc0c',
  '#8ab8ff',
  '#ff780a',
  '#f2495c',
  '#5794f2',
  '#b877d9',
  '#fade2a',
  '#37872d',
  '#c4162a',
];

/** The dashboard as Grafana lays it out (24 columns, its grid rows), each panel drawn from its series. */
export function renderDashboard(
  title: string,
  panels: readonly { readonly layout: PanelLayout; readonly series: readonly Series[] }[],
  caption: string,
): string {
  const height = Math.max(...panels.map(({ layout: { gridPos } }) => (gridPos.y + gridPos.h) * ROW)) + 60;
  const body = panels.map(({ layout, series }) => panel(layout, series)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Inter, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#111217"/>`,
    `<text x="${PAD * 2}" y="26" fill="#ccccdc" font-size="18" font-weight="600">${escape(title)}</text>`,
    `<text x="${WIDTH - PAD * 2}" y="26" fill="#8e8e9e" font-size="12" text-anchor="end">${escape(caption)}</text>`,
    `<g transform="translate(0,40)">`,
    body,
    `</g>`,
    `</svg>`,
    '',
  ].join('\n');
}

function panel(layout: PanelLayout, series: readonly Series[]): string {
  const { x, y, w, h } = layout.gridPos;
  const left = x * COLUMN + PAD;
  const top = y * ROW + PAD;
  const width = w * COLUMN - 2 * PAD;
  if (layout.type === 'row') {
    return `<text x="${left + 4}" y="${top + 16}" fill="#ccccdc" font-size="14" font-weight="600">▾ ${escape(layout.title)}</text>`;
  }
  const height = h * ROW - 2 * PAD;
  const legendRows = Math.min(series.length, 4);
  const plot = { left: left + 58, top: top + 30, width: width - 70, height: height - 44 - legendRows * 14 };
  const points = series.flatMap((each) => each.points);
  const parts = [
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" rx="3" fill="#181b1f" stroke="#2a2d33"/>`,
    `<text x="${left + 8}" y="${top + 18}" fill="#ccccdc" font-size="13" font-weight="500">${escape(layout.title)}</text>`,
  ];
  if (points.length === 0) {
    parts.push(
      `<text x="${left + width / 2}" y="${top + height / 2}" fill="#8e8e9e" font-size="13" text-anchor="middle">No data</text>`,
    );
    return parts.join('\n');
  }
  const times = points.map(([at]) => at);
  const values = points.map(([, value]) => value);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const low = Math.min(0, ...values);
  const high = Math.max(...values) > low ? Math.max(...values) : low + 1;
  const px = (at: number) => plot.left + ((at - t0) / Math.max(t1 - t0, 1)) * plot.width;
  const py = (value: number) => plot.top + plot.height - ((value - low) / (high - low)) * plot.height;
  for (const fraction of [0, 0.5, 1]) {
    const value = low + fraction * (high - low);
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${py(value)}" y2="${py(value)}" stroke="#2a2d33"/>`,
      `<text x="${plot.left - 6}" y="${py(value) + 4}" fill="#8e8e9e" font-size="10" text-anchor="end">${escape(format(value, layout.unit))}</text>`,
    );
  }
  parts.push(
    `<text x="${plot.left}" y="${plot.top + plot.height + 13}" fill="#8e8e9e" font-size="10">−${Math.round((t1 - t0) / 1000)} s</text>`,
    `<text x="${plot.left + plot.width}" y="${plot.top + plot.height + 13}" fill="#8e8e9e" font-size="10" text-anchor="end">now</text>`,
  );
  series.forEach((each, i) => {
    const color = COLORS[i % COLORS.length]!;
    const dashed = /watermark/.test(each.name) ? ' stroke-dasharray="6 4"' : '';
    const path = each.points.map(([at, value]) => `${px(at).toFixed(1)},${py(value).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.6"${dashed}/>`);
    if (i < legendRows) {
      const last = each.points[each.points.length - 1]?.[1];
      const label = `${each.name}${last === undefined ? '' : `  ${format(last, layout.unit)}`}`;
      const ly = plot.top + plot.height + 28 + i * 14;
      parts.push(
        `<rect x="${plot.left}" y="${ly - 8}" width="10" height="3" fill="${color}"/>`,
        `<text x="${plot.left + 16}" y="${ly - 3}" fill="#ccccdc" font-size="10">${escape(label)}</text>`,
      );
    }
  });
  if (series.length > legendRows) {
    parts.push(
      `<text x="${left + width - 8}" y="${top + 18}" fill="#8e8e9e" font-size="10" text-anchor="end">${series.length} series</text>`,
    );
  }
  return parts.join('\n');
}

/** A value in the panel's Grafana unit. */
function format(value: number, unit = 'short'): string {
  const round = (v: number) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  switch (unit) {
    case 'bytes': {
      const steps = ['B', 'KiB', 'MiB', 'GiB'];
      let scaled = value;
      let step = 0;
      while (Math.abs(scaled) >= 1024 && step < steps.length - 1) {
        scaled /= 1024;
        step += 1;
      }
      return `${round(scaled)} ${steps[step]}`;
    }
    case 's':
      if (Math.abs(value) >= 86_400) return `${round(value / 86_400)} d`;
      return Math.abs(value) < 1 && value !== 0 ? `${round(value * 1000)} ms` : `${round(value)} s`;
    case 'ops':
      return `${round(value)}/s`;
    case 'reqps':
      return `${round(value)} req/s`;
    case 'percentunit':
      return `${round(value * 100)}%`;
    default:
      return round(value);
  }
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
