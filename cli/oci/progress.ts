// Upload progress on stderr: one rewritten line on a terminal, or a line per quarter when asked
// for (--progress) on a pipe. Silent otherwise, so scripts and logs stay clean.
import { formatSize } from "../format.js";

/** Writes progress for named items. */
export class ProgressReporter {
  private readonly lastQuarter = new Map<string, number>();
  private lineOpen = false;

  constructor(private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean }, private readonly enabled: boolean) {}

  /** Reports `done` of `total` bytes for `label`. */
  update(label: string, done: number, total: number): void {
    if (!this.enabled) return;
    const pct = total ? Math.floor((done * 100) / total) : 100;
    const text = `${label}  ${formatSize(done)} / ${formatSize(total)}  ${pct}%`;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${text}`);
      this.lineOpen = true;
      if (done >= total) this.end();
      return;
    }
    const quarter = Math.floor(pct / 25);
    if ((this.lastQuarter.get(label) ?? -1) < quarter) {
      this.lastQuarter.set(label, quarter);
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the current terminal line. */
  end(): void {
    if (this.lineOpen) this.out.write("\n");
    this.lineOpen = false;
  }
}
