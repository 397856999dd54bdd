import { type CallNode, IDLE } from './cpu-profile.ts';
import { CATEGORY, ownCategory } from './profile-breakdown.ts';

/**
 * A self-contained SVG flame graph of a merged call tree: callers below their callees, each
 * frame as wide as its total time (idle excluded), coloured by category, its figures in a
 * tooltip. No script and nothing fetched: it opens in any browser or image viewer.
 */
const WIDTH = 1200;
const ROW = 16;
const MARGIN = 10;
const HEADER = 40;
/** Frames narrower than this many pixels are not drawn (their time stays in their parent's width). */
const MIN_WIDTH = 0.4;
/** About the width of one character at the font size used. */
const CHAR = 6.6;

const HUES: Record<string, string> = {
  [CATEGORY.signature]: '#e34a33',
  [CATEGORY.crypto]: '#f768a1',
  [CATEGORY.socketWrite]: '#8c6bb1',
  [CATEGORY.socketRead]: '#9e9ac8',
  [CATEGORY.http]: '#41b6c4',
  [CATEGORY.fastify]: '#6baed6',
  [CATEGORY.database]: '#74c476',
  [CATEGORY.observability]: '#c2a5cf',
  [CATEGORY.gc]: '#969696',
  [CATEGORY.program]: '#bdbdbd',
};

const OTHER = '#d9d9d9';
const GATEHOUSE = '#fd8d3c';
const PACKAGE = '#fdd0a2';
const LEGEND: [string, string][] = [
  ['Gatehouse', GATEHOUSE],
  ['signature', HUES[CATEGORY.signature] as string],
  ['other crypto', HUES[CATEGORY.crypto] as string],
  ['socket write', HUES[CATEGORY.socketWrite] as string],
  ['socket read', HUES[CATEGORY.socketRead] as string],
  ['node:http', HUES[CATEGORY.http] as string],
  ['Fastify', HUES[CATEGORY.fastify] as string],
  ['database', HUES[CATEGORY.database] as string],
  ['logs, metrics', HUES[CATEGORY.observability] as string],
  ['GC', HUES[CATEGORY.gc] as string],
  ['V8, native', HUES[CATEGORY.program] as string],
  ['other package', PACKAGE],
];

function colour(node: CallNode): string {
  const category = ownCategory(node.frame);
  if (category === undefined) return OTHER;
  if (category.startsWith('Gatehouse ')) return GATEHOUSE;
  return HUES[category] ?? PACKAGE;
}

const xmlText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Rows above `node` that will be drawn: those of frames with at least `minTotal` time. */
function depthOf(node: CallNode, minTotal: number): number {
  let deepest = 0;
  for (const child of node.children.values()) if (child.total >= minTotal) deepest = Math.max(deepest, depthOf(child, minTotal) + 1);
  return deepest;
}

/** Renders `root` (from mergeProfiles) as SVG text; `title` heads the picture. */
export function renderFlameGraph(root: CallNode, title: string): string {
  const busy = [...root.children.values()].filter((c) => c.frame.owner !== IDLE);
  const total = busy.reduce((sum, c) => sum + c.total, 0) || 1;
  const scale = (WIDTH - 2 * MARGIN) / total;
  const rows = Math.max(1, ...busy.map((c) => depthOf(c, MIN_WIDTH / scale) + 1));
  const height = HEADER + rows * ROW + MARGIN;
  const rects: string[] = [];
  const draw = (node: CallNode, x: number, depth: number) => {
    const width = node.total * scale;
    if (width < MIN_WIDTH) return;
    const y = height - MARGIN - (depth + 1) * ROW;
    const { name, where } = node.frame;
    const share = (t: number) => `${((100 * t) / total).toFixed(2)} %`;
    const tip = `${name} ${where}\ntotal ${(node.total / 1000).toFixed(1)} ms (${share(node.total)}), self ${share(node.self)}`;
    const chars = Math.floor((width - 4) / CHAR);
    const label = chars >= 3 ? (name.length <= chars ? name : `${name.slice(0, chars - 1)}…`) : '';
    rects.push(
      `<g><title>${xmlText(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW - 1}" fill="${colour(node)}" rx="1"/>` +
        (label ? `<text x="${(x + 2).toFixed(2)}" y="${y + ROW - 5}">${xmlText(label)}</text>` : '') +
        '</g>',
    );
    let childX = x;
    for (const child of [...node.children.values()].sort((a, b) => a.frame.name.localeCompare(b.frame.name))) {
      draw(child, childX, depth + 1);
      childX += child.total * scale;
    }
  };
  let x = MARGIN;
  for (const child of busy.sort((a, b) => b.total - a.total)) {
    draw(child, x, 0);
    x += child.total * scale;
  }
  const legend = LEGEND.map(
    ([name, fill], i) =>
      `<rect x="${MARGIN + i * 98}" y="24" width="10" height="10" fill="${fill}"/><text x="${MARGIN + i * 98 + 13}" y="33">${xmlText(name)}</text>`,
  ).join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="15" font-size="13">${xmlText(title)}</text>`,
    `<g font-size="9">${legend}</g>`,
    ...rects,
    '</svg>',
    '',
  ].join('\n');
}
