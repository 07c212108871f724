// Host functions: proxy_define_metric, proxy_increment_metric, proxy_record_metric,
// proxy_get_metric. Ids are per VM and encode the type in their low bits (Envoy: counters 4, 8, …;
// gauges 5, 9, …; histograms 6, 10, …); the stats behind them are shared by name.
import { MetricType, WasmResult } from "../abi/constants.js";
import type { Metric } from "../services/metrics.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { sig, type HostFunctionDef } from "./types.js";

/** Per-VM metric ids. */
export class MetricIds {
  private readonly next = [1, 1, 1];
  readonly byId = new Map<number, Metric>();

  define(type: MetricType, metric: Metric): number {
    const id = (this.next[type]!++ << 2) | type;
    this.byId.set(id, metric);
    return id;
  }
}

const idsOf = new WeakMap<PluginVm, MetricIds>();
function ids(vm: PluginVm): MetricIds {
  let m = idsOf.get(vm);
  if (!m) {
    m = new MetricIds();
    idsOf.set(vm, m);
  }
  return m;
}

export const metricFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_define_metric", type: sig("iiii>i"),
    create: (vm) => (type: number, namePtr: number, nameLen: number, idOut: number) => {
      type >>>= 0;
      if (type > MetricType.Histogram) return WasmResult.BadArgument;
      const name = vm.mem.utf8(namePtr, nameLen);
      vm.mem.check(idOut, 4);
      const metric = vm.runtime.services.metrics.define(type as MetricType, name);
      vm.mem.setU32(idOut, ids(vm).define(type as MetricType, metric));
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_increment_metric", type: sig("iI>i"),
    create: (vm) => {
      const table = ids(vm);
      return (id: number, delta: bigint) => {
        // Envoy decides by the id's type bits first: histograms (and type 3) are BAD_ARGUMENT.
        const type = (id >>> 0) & 3;
        if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
        const m = table.byId.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        const d = Number(delta);
        if (type === MetricType.Counter && d <= 0) return WasmResult.BadArgument;
        m.value += d;
        return WasmResult.Ok;
      };
    },
  },
  {
    module: "env", name: "proxy_record_metric", type: sig("iI>i"),
    create: (vm) => {
      const table = ids(vm);
      return (id: number, value: bigint) => {
        const m = table.byId.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        const v = Number(BigInt.asUintN(64, value));
        // Envoy: a counter adds, a gauge sets, a histogram records a sample.
        if (m.type === MetricType.Counter) m.value += v;
        else if (m.type === MetricType.Gauge) m.value = v;
        else m.record(v);
        return WasmResult.Ok;
      };
    },
  },
  {
    module: "env", name: "proxy_get_metric", type: sig("ii>i"),
    create: (vm) => {
      const table = ids(vm);
      return (id: number, out: number) => {
        const type = (id >>> 0) & 3;
        if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
        const m = table.byId.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        vm.mem.setU64(out, BigInt(Math.trunc(m.value)));
        return WasmResult.Ok;
      };
    },
  },
];
