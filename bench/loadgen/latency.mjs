// Latency samples in a growable Float64Array, and their percentiles (nearest rank).
import { round } from './proc.mjs';

export class Latencies {
  constructor(capacity = 1 << 16) { this.a = new Float64Array(capacity); this.n = 0; }
  add(ms) {
    if (this.n === this.a.length) { const b = new Float64Array(this.n * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = ms;
  }
  summary() {
    const n = this.n;
    if (n === 0) return { n: 0 };
    const s = this.a.slice(0, n).sort();
    const at = (q) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i];
    return { n, mean: round(sum / n), min: round(s[0]), p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), p999: round(at(0.999)), max: round(s[n - 1]) };
  }
}
