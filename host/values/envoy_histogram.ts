// Envoy's histograms as its admin /stats/prometheus prints them. Envoy keeps samples in log-linear
// bins (libcircllhist: two significant decimal digits, so 7 lands in [7, 7.1), 178 in [170, 180),
// 1234 in [1200, 1300)); a bucket `le` counts the samples whose bin starts at or below `le`, `_sum`
// adds each bin's midpoint l + w·l/(2l + w) (the harmonic mean of its edges) times its count, and
// numbers print as C's %.32g. Checked against Envoy 1.40 (docs/envoy/istio-telemetry.md,
// "Histograms").

/** One log-linear bin: its lower edge, its width, its sample count. */
interface Bin {
  left: number;
  width: number;
  count: number;
}

/** The bin of a non-negative integer sample (circllhist's int_scale_to_hist_bucket with scale 0). */
export function logLinearBin(sample: number): { left: number; width: number } {
  if (!(sample > 0)) return { left: 0, width: 0 };
  let val = Math.floor(sample);
  let scale = 1;
  if (val < 10) {
    val *= 10;
    scale -= 1;
  }
  while (val >= 100) {
    val = Math.floor(val / 10);
    scale++;
  }
  const p = 10 ** scale;
  return { left: (val / 10) * p, width: p / 10 };
}

/** The samples of one histogram, binned as Envoy bins them. */
export class LogLinearBins {
  // By lower edge; kept sorted when read.
  private readonly bins = new Map<number, Bin>();

  record(sample: number): void {
    const { left, width } = logLinearBin(sample);
    const b = this.bins.get(left);
    if (b) b.count++;
    else this.bins.set(left, { left, width, count: 1 });
  }

  private sorted(): Bin[] {
    return [...this.bins.values()].sort((a, b) => a.left - b.left);
  }

  /** Samples whose bin starts at or below `le` (Envoy's cumulative bucket count). */
  countAtOrBelow(le: number): number {
    let n = 0;
    for (const b of this.bins.values()) if (b.left <= le) n += b.count;
    return n;
  }

  /** Envoy's approximate sum: each bin's midpoint times its count, bins in ascending order. */
  approximateSum(): number {
    let sum = 0;
    for (const b of this.sorted()) {
      const mid = b.left === 0 ? 0 : b.left + (b.width * b.left) / (2 * b.left + b.width);
      sum += mid * b.count;
    }
    return sum;
  }
}

/** A number as C's printf("%.32g") writes it (Envoy's format for histogram sums and bounds). */
export function formatG32(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const exp = Math.floor(Math.log10(Math.abs(x)));
  const trim = (digits: string) => (digits.includes(".") ? digits.replace(/0+$/, "").replace(/\.$/, "") : digits);
  if (exp < -4 || exp >= 32) {
    const [mantissa, e] = x.toExponential(31).split("e");
    const n = Number(e);
    return `${trim(mantissa!)}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return trim(x.toPrecision(32));
}
