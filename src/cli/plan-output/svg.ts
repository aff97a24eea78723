import {
  axisGroups,
  MESH_AXES,
  type MeshAxis,
  planShortString,
  rankToCoords,
} from '../../shared/plan/index.js';
import type { ChosenPlan } from '../../shared/planner/index.js';
import { seconds } from './format.js';

const CELL_W = 84;
const CELL_H = 92;
/** GPU cells: labels above this height, communicator dots below it. */
const LABEL_BAND = 50;
const GAP = 10;
const NODE_PAD = 14;
const NODE_TITLE = 22;
const HEADER = 64;
const LEGEND_LINE = 20;
const MAX_GPU_COLUMNS = 8;
const MAX_NODE_COLUMNS = 4;

const AXIS_STYLE: Record<MeshAxis, { color: string; label: string; dash?: string }> = {
  ulysses: { color: '#d62728', label: 'Ulysses' },
  ring: { color: '#1f77b4', label: 'Ring' },
  pipefusion: { color: '#2ca02c', label: 'PipeFusion' },
  cfg: { color: '#9467bd', label: 'CFG' },
  dataParallel: { color: '#ff7f0e', label: 'data parallel', dash: '6 4' },
};
const SHORT: Record<MeshAxis, string> = {
  ulysses: 'u',
  ring: 'r',
  pipefusion: 'p',
  cfg: 'c',
  dataParallel: 'd',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Layout {
  gpuColumns: number;
  nodeW: number;
  nodeH: number;
  nodeColumns: number;
  width: number;
  height: number;
  legendTop: number;
}

function layout(plan: ChosenPlan, axesShown: number): Layout {
  const gpuColumns = Math.min(plan.gpusPerPod, MAX_GPU_COLUMNS);
  const gpuRows = Math.ceil(plan.gpusPerPod / gpuColumns);
  const nodeW = NODE_PAD * 2 + gpuColumns * CELL_W + (gpuColumns - 1) * GAP;
  const nodeH = NODE_TITLE + NODE_PAD * 2 + gpuRows * CELL_H + (gpuRows - 1) * GAP;
  const nodeColumns = Math.min(plan.podsPerGroup, MAX_NODE_COLUMNS);
  const nodeRows = Math.ceil(plan.podsPerGroup / nodeColumns);
  const width = Math.max(560, GAP * 2 + nodeColumns * nodeW + (nodeColumns - 1) * GAP * 2);
  const legendTop = HEADER + nodeRows * nodeH + (nodeRows - 1) * GAP * 2 + GAP * 2;
  const height = legendTop + (axesShown + 1) * LEGEND_LINE + GAP;
  return { gpuColumns, nodeW, nodeH, nodeColumns, width, height, legendTop };
}

/** Top-left corner of a node's box and of a GPU cell inside it. */
function nodeOrigin(pod: number, l: Layout): { x: number; y: number } {
  const col = pod % l.nodeColumns;
  const row = Math.floor(pod / l.nodeColumns);
  return { x: GAP + col * (l.nodeW + GAP * 2), y: HEADER + row * (l.nodeH + GAP * 2) };
}

function gpuOrigin(rank: number, plan: ChosenPlan, l: Layout): { x: number; y: number } {
  const pod = Math.floor(rank / plan.gpusPerPod);
  const local = rank % plan.gpusPerPod;
  const n = nodeOrigin(pod, l);
  const col = local % l.gpuColumns;
  const row = Math.floor(local / l.gpuColumns);
  return { x: n.x + NODE_PAD + col * (CELL_W + GAP), y: n.y + NODE_TITLE + NODE_PAD + row * (CELL_H + GAP) };
}

/**
 * `-o svg`: the nodes of one group with their GPUs, each labelled with its rank and mesh coordinates,
 * and one coloured chain of arcs per communicator of every axis with degree > 1, so a reader sees which axes
 * stay inside a node and which cross nodes.
 */
export function renderSvg(plan: ChosenPlan, title: string): string {
  const d = plan.degrees;
  const axes = MESH_AXES.filter((a) => d[a] > 1);
  const l = layout(plan, axes.length);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="sans-serif">`,
  );
  out.push(`<rect x="0" y="0" width="${l.width}" height="${l.height}" fill="#ffffff"/>`);
  out.push(`<text x="${GAP}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(
    `<text x="${GAP}" y="46" font-size="12">${escapeXml(
      `${planShortString(d)} · ${plan.gpusPerGroup} GPUs = ${plan.podsPerGroup} pod(s) × ${plan.gpusPerPod} · ` +
        `predicted ${seconds(plan.predicted.totalSeconds)} s per request`,
    )}</text>`,
  );

  for (let pod = 0; pod < plan.podsPerGroup; pod++) {
    const n = nodeOrigin(pod, l);
    out.push(
      `<rect x="${n.x}" y="${n.y}" width="${l.nodeW}" height="${l.nodeH}" rx="8" fill="#f4f4f4" stroke="#555555" stroke-width="1.5"/>`,
    );
    out.push(
      `<text x="${n.x + NODE_PAD}" y="${n.y + 17}" font-size="12" font-weight="bold">node / pod ${pod}</text>`,
    );
  }
  for (const r of plan.ranks) {
    const g = gpuOrigin(r.rank, plan, l);
    const c = rankToCoords(r.rank, d);
    const coords = MESH_AXES.filter((a) => d[a] > 1)
      .map((a) => `${SHORT[a]}${c[a]}`)
      .join(' ');
    out.push(
      `<rect x="${g.x}" y="${g.y}" width="${CELL_W}" height="${CELL_H}" rx="4" fill="#ffffff" stroke="#222222"/>`,
    );
    out.push(`<text x="${g.x + 6}" y="${g.y + 16}" font-size="12" font-weight="bold">rank ${r.rank}</text>`);
    out.push(`<text x="${g.x + 6}" y="${g.y + 30}" font-size="10">GPU ${r.localRank}</text>`);
    out.push(
      `<text x="${g.x + 6}" y="${g.y + 44}" font-size="10">${escapeXml(coords || 'single GPU')}</text>`,
    );
  }
  // Each axis has its own row of dots under the labels; a communicator is a chain of arcs between its
  // members, bulging more the farther apart they are, so groups of one axis that interleave stay apart.
  axes.forEach((axis, i) => {
    const style = AXIS_STYLE[axis];
    const band = CELL_H - LABEL_BAND - 8;
    const dy = LABEL_BAND + 4 + ((i + 0.5) * band) / axes.length;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    for (const group of axisGroups(axis, d)) {
      const points = group.map((rank) => {
        const g = gpuOrigin(rank, plan, l);
        return { x: g.x + CELL_W / 2, y: g.y + dy };
      });
      const segments: string[] = [];
      for (let k = 1; k < points.length; k++) {
        const a = points[k - 1];
        const b = points[k];
        if (!a || !b) continue;
        const distance = Math.hypot(b.x - a.x, b.y - a.y);
        const bulge = Math.min(CELL_H / 2, 6 + distance * 0.04);
        segments.push(`M ${a.x} ${a.y} Q ${(a.x + b.x) / 2} ${(a.y + b.y) / 2 + bulge} ${b.x} ${b.y}`);
      }
      out.push(
        `<path d="${segments.join(' ')}" fill="none" stroke="${style.color}" stroke-width="2.5" stroke-opacity="0.8"${dash}/>`,
      );
      for (const pt of points) out.push(`<circle cx="${pt.x}" cy="${pt.y}" r="4" fill="${style.color}"/>`);
    }
  });

  out.push(`<text x="${GAP}" y="${l.legendTop + 12}" font-size="12" font-weight="bold">axis groups</text>`);
  axes.forEach((axis, i) => {
    const style = AXIS_STYLE[axis];
    const y = l.legendTop + (i + 1) * LEGEND_LINE + 8;
    const link = plan.links[axis];
    const where =
      link === 'domain'
        ? 'inside a fast domain'
        : link === 'node'
          ? 'across sockets'
          : link === 'network'
            ? 'across nodes'
            : '';
    out.push(
      `<line x1="${GAP}" y1="${y - 4}" x2="${GAP + 30}" y2="${y - 4}" stroke="${style.color}" stroke-width="3"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`,
    );
    out.push(
      `<text x="${GAP + 38}" y="${y}" font-size="12">${escapeXml(`${style.label} ${d[axis]}: ${axisGroups(axis, d).length} group(s), ${where}`)}</text>`,
    );
  });
  if (axes.length === 0) {
    out.push(
      `<text x="${GAP}" y="${l.legendTop + LEGEND_LINE + 8}" font-size="12">one GPU: no communicators</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
