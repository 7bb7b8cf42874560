#!/usr/bin/env node
// Top self time of a `node --cpu-prof` profile, and the inclusive time of frames matching regexes
// (each sample counted once per regex, wherever the match sits on its stack). Shares are of busy time
// (all samples except "(idle)").
// usage: node bench/tools/cpuprof-top.mjs file.cpuprofile [--top 30] [--inclusive REGEX]...
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function shortUrl(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 14);
  const i = u.indexOf('/dist/');
  if (i >= 0) return u.slice(i + 1);
  const b = u.indexOf('/bench/');
  return b >= 0 ? u.slice(b + 1) : u;
}

export function cpuprofTop(profile, { top = 30, inclusive = [] } = {}) {
  const byId = new Map();
  const parent = new Map();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n) => {
    const f = n.callFrame;
    const where = shortUrl(f.url);
    return `${f.functionName || '(anonymous)'}${where ? `  ${where}:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const incl = inclusive.map(() => 0);
  const res = inclusive.map((r) => new RegExp(r));
  let total = 0, idle = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, timeDeltas[i] ?? 0);
    const node = byId.get(samples[i]);
    if (!node) continue;
    total += dt;
    const key = label(node);
    if (node.callFrame.functionName === '(idle)') { idle += dt; continue; }
    self.set(key, (self.get(key) ?? 0) + dt);
    if (res.length) {
      const hit = res.map(() => false);
      for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
        const k = label(byId.get(id));
        res.forEach((re, j) => { if (!hit[j] && re.test(k)) hit[j] = true; });
      }
      hit.forEach((h, j) => { if (h) incl[j] += dt; });
    }
  }
  const busy = total - idle || 1;
  const pct = (x) => `${(x / busy * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled (${(busy / (total || 1) * 100).toFixed(0)}% busy)`, '', `top ${top} self time:`];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(v)}  ${k}`);
  if (res.length) {
    lines.push('', 'inclusive:');
    inclusive.forEach((r, j) => lines.push(`${pct(incl[j])}  /${r}/`));
  }
  return lines.join('\n');
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const file = a.find((x, i) => !x.startsWith('--') && !['--top', '--inclusive'].includes(a[i - 1]));
  if (!file) { console.error('usage: node bench/tools/cpuprof-top.mjs file.cpuprofile [--top 30] [--inclusive REGEX]...'); process.exit(2); }
  const top = a.includes('--top') ? Number(a[a.indexOf('--top') + 1]) : 30;
  const inclusive = a.flatMap((x, i) => (x === '--inclusive' ? [a[i + 1]] : []));
  process.stdout.write(cpuprofTop(JSON.parse(readFileSync(file, 'utf8')), { top, inclusive }) + '\n');
}
