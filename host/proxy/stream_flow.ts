// Flow control of one dev-proxy stream, as Envoy's watermarks (docs/envoy/flow-control.md): each
// direction has one reader — the client's request body, the upstream's response body — which is
// paused, instead of read into memory, while what it feeds cannot take more: the next socket's write
// buffer is over its high water mark (until it drains), or a plugin holds more than the buffer limit
// (until it is down to half). A paused Node stream stops reading its socket once its own small
// buffer fills, so the peer's TCP window closes and the sender waits.
import type { Readable, Writable } from "node:stream";

/** A direction's reader, paused while any reason holds. */
export class FlowReader {
  private source: Readable | undefined;
  /** The socket this direction writes to is over its high water mark. */
  private writeBlocked = false;
  /** Filters whose held data is over the high watermark (Envoy counts their callbacks too). */
  private filtersAbove = 0;
  /** Times the reader was paused (for tests and stats). */
  pauses = 0;

  /** The reader to pause and resume (it may come later than the first reason: the upstream's response). */
  attach(source: Readable): void {
    this.source = source;
    this.apply();
  }

  /** `sink.write()` returned false: pause until it drains. */
  blockedOn(sink: Writable): void {
    if (this.writeBlocked) return;
    this.writeBlocked = true;
    this.apply();
    sink.once("drain", () => {
      this.writeBlocked = false;
      this.apply();
    });
  }

  /** A filter's held data went over (`above`) or back under the watermark. */
  watermark(above: boolean): void {
    this.filtersAbove = Math.max(0, this.filtersAbove + (above ? 1 : -1));
    this.apply();
  }

  private apply(): void {
    const s = this.source;
    if (!s || s.destroyed) return;
    if (this.writeBlocked || this.filtersAbove > 0) {
      if (!s.isPaused()) {
        s.pause();
        this.pauses++;
      }
    } else if (s.isPaused()) {
      s.resume();
    }
  }
}
