// Root-context timers (proxy_set_tick_period_milliseconds → proxy_on_tick). Manual timers are
// advanced by tests; real timers fire on Node's clock in the dev proxy. Envoy re-arms the timer
// after each tick; the first tick comes one period after the call.
import { performance } from "node:perf_hooks";
import type { TimerService } from "../services.js";
import type { RootContextState } from "../vm/contexts.js";
import type { PluginVm } from "../vm/plugin_vm.js";

interface ManualTimer {
  vm: PluginVm;
  root: RootContextState;
  periodMs: number;
  dueAt: number;
}

/** Timers on a virtual clock that only moves when a test says so. */
export class ManualTimers implements TimerService {
  private readonly timers: ManualTimer[] = [];
  /** Virtual time in ms. */
  now = 0;

  setTickPeriod(vm: PluginVm, root: RootContextState, periodMs: number): void {
    root.tickPeriodMs = periodMs;
    const i = this.timers.findIndex((t) => t.root === root);
    if (i >= 0) this.timers.splice(i, 1);
    if (periodMs > 0) this.timers.push({ vm, root, periodMs, dueAt: this.now + periodMs });
  }

  clear(vm: PluginVm): void {
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.vm === vm) this.timers.splice(i, 1);
  }

  nowMs(): number {
    return this.now;
  }

  /** Fires every armed timer once, as proxytest's Tick() does. */
  tick(): void {
    for (const t of [...this.timers]) {
      t.dueAt = this.now + t.periodMs;
      t.root.plugin.deliverTick(t.vm, t.root);
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
      next.root.plugin.deliverTick(next.vm, next.root);
    }
    this.now = end;
  }

  /** The armed period of a root, or 0. */
  periodOf(root: RootContextState): number {
    return this.timers.find((t) => t.root === root)?.periodMs ?? 0;
  }
}

/** Timers on Node's clock. */
export class RealTimers implements TimerService {
  private readonly timers = new Map<RootContextState, { vm: PluginVm; handle: NodeJS.Timeout }>();

  nowMs(): number {
    return performance.now();
  }

  setTickPeriod(vm: PluginVm, root: RootContextState, periodMs: number): void {
    root.tickPeriodMs = periodMs;
    const old = this.timers.get(root);
    if (old) clearTimeout(old.handle);
    this.timers.delete(root);
    if (periodMs <= 0) return;
    // Envoy re-arms the timer after each proxy_on_tick returns (ticks never overlap or queue up).
    const arm = () => {
      const handle = setTimeout(() => {
        root.plugin.deliverTick(vm, root);
        const cur = this.timers.get(root);
        if (cur?.handle === handle && root.tickPeriodMs > 0) arm();
      }, root.tickPeriodMs);
      // Timers alone do not keep the process alive (the proxy's listeners do).
      handle.unref();
      this.timers.set(root, { vm, handle });
    };
    arm();
  }

  clear(vm: PluginVm): void {
    for (const [root, t] of this.timers) {
      if (t.vm !== vm) continue;
      clearTimeout(t.handle);
      this.timers.delete(root);
    }
  }

  /** Stops every timer. */
  stopAll(): void {
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
  }
}
