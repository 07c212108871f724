// Root-context timers (proxy_set_tick_period_milliseconds → proxy_on_tick). Manual timers are
// advanced by tests; real timers fire on Node's clock in the dev proxy. Envoy re-arms the timer
// after each tick; the first tick comes one period after the call.
import { performance } from "node:perf_hooks";
import type { TickTarget, TimerService } from "./host_services.js";

interface ManualTimer {
  root: TickTarget;
  periodMs: number;
  dueAt: number;
}

/** Timers on a virtual clock that only moves when a test says so. */
export class ManualTimers implements TimerService {
  private readonly timers: ManualTimer[] = [];
  /** Virtual time in ms. */
  now = 0;

  setTickPeriod(root: TickTarget, periodMs: number): void {
    root.tickPeriodMs = periodMs;
    const i = this.timers.findIndex((t) => t.root === root);
    if (i >= 0) this.timers.splice(i, 1);
    if (periodMs > 0) this.timers.push({ root, periodMs, dueAt: this.now + periodMs });
  }

  clear(vm: object): void {
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.root.vm === vm) this.timers.splice(i, 1);
  }

  nowMs(): number {
    return this.now;
  }

  /** Fires every armed timer once, as proxytest's Tick() does. */
  tick(): void {
    for (const t of [...this.timers]) {
      t.dueAt = this.now + t.periodMs;
      t.root.tick();
    }
  }

  /** Moves virtual time forward by `ms`, firing each timer as often as its period allows, in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.dueAt <= end && (!next || t.dueAt < next.dueAt)) next = t;
      if (!next) break;
      this.now = next.dueAt;
      next.dueAt += next.periodMs;
      next.root.tick();
    }
    this.now = end;
  }

  /** The armed period of a root, or 0. */
  periodOf(root: TickTarget): number {
    return this.timers.find((t) => t.root === root)?.periodMs ?? 0;
  }
}

/** Timers on Node's clock. */
export class RealTimers implements TimerService {
  private readonly timers = new Map<TickTarget, NodeJS.Timeout>();

  nowMs(): number {
    return performance.now();
  }

  setTickPeriod(root: TickTarget, periodMs: number): void {
    root.tickPeriodMs = periodMs;
    const old = this.timers.get(root);
    if (old) clearTimeout(old);
    this.timers.delete(root);
    if (periodMs <= 0) return;
    // Envoy re-arms the timer after each proxy_on_tick returns (ticks never overlap or queue up).
    const arm = () => {
      const handle = setTimeout(() => {
        root.tick();
        if (this.timers.get(root) === handle && root.tickPeriodMs > 0) arm();
      }, root.tickPeriodMs);
      // Timers alone do not keep the process alive (the proxy's listeners do).
      handle.unref();
      this.timers.set(root, handle);
    };
    arm();
  }

  clear(vm: object): void {
    for (const [root, handle] of this.timers) {
      if (root.vm !== vm) continue;
      clearTimeout(handle);
      this.timers.delete(root);
    }
  }

  /** Stops every timer. */
  stopAll(): void {
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
  }
}
