// Envoy's histogram rendering (host/values/envoy_histogram.ts) against what Envoy 1.40 printed on
// /stats/prometheus for the same samples (a plugin recorded each value once into its own
// histogram; docs/envoy/istio-telemetry.md, "Histograms").
import { describe, expect, it } from "vitest";
import { formatG32, LogLinearBins, logLinearBin } from "../../host/values/envoy_histogram.js";

// [sample, Envoy's `_sum` line value for that single sample]
const ENVOY_SUMS: Array<[number, string]> = [
  [1, "1.0476190476190476719153821250075"],
  [2, "2.0487804878048780921062643756159"],
  [3, "3.0491803278688522915729208762059"],
  [4, "4.0493827160493829353526962222531"],
  [6, "6.0495867768595044111634706496261"],
  [8, "8.049689440993788025480171199888"],
  [9, "9.0497237569060775541629482177086"],
  [11, "11.478260869565216850674005399924"],
  [13, "13.481481481481480955153529066592"],
  [17, "17.485714285714283988681927439757"],
  [19, "19.487179487179485448677951353602"],
  [23, "23.489361702127659725647390587255"],
  [29, "29.491525423728813137813631328754"],
  [31, "31.492063492063490315331364399754"],
  [37, "37.493333333333332291203987551853"],
  [41, "41.493975903614455091883428394794"],
  [43, "43.49425287356321945253512240015"],
  [47, "47.494736842105261587221320951357"],
  [53, "53.495327102803734931057988433167"],
  [59, "59.495798319327732883721182588488"],
  [61, "61.495934959349590087640535784885"],
  [67, "67.496296296296293348859762772918"],
  [71, "71.496503496503493124691885896027"],
  [73, "73.496598639455783086305018514395"],
  [79, "79.496855345911953349968825932592"],
  [83, "83.497005988023957456789503339678"],
  [89, "89.497206703910620717579149641097"],
  [97, "97.497435897435892115936439950019"],
  [101, "104.76190476190475919793243519962"],
  [113, "114.78260869565218627030844800174"],
  [127, "124.7999999999999971578290569596"],
  [131, "134.81481481481480955153529066592"],
  [199, "194.87179487179486159220687113702"],
  [257, "254.90196078431372939121501985937"],
  [333, "334.92537313432836754145682789385"],
  [499, "494.94949494949503332463791593909"],
  [511, "514.95145631067953218007460236549"],
  [777, "774.96774193548390030628070235252"],
  [1023, "1047.6190476190477056661620736122"],
  [1999, "1948.7179487179487296089064329863"],
  [3333, "3349.2537313432835617277305573225"],
  [4097, "4049.3827160493829069309867918491"],
  [9999, "9949.7487437185936869354918599129"],
  [12345, "12480"],
  [65535, "65496.183206106870784424245357513"],
  [99999, "99497.487437185933231376111507416"],
  [123456, "124800"],
  [999999, "994974.87437185924500226974487305"],
  [1234567, "1248000"],
  [7777777, "7749677.4193548383191227912902832"],
  [0, "0"], [5, "5.049504950495049548919723747531"], [24, "24.489795918367345706201376742683"],
  [178, "174.85714285714286120310134720057"], [1000, "1047.6190476190477056661620736122"], [1234, "1248"],
];

const binned = (samples: number[]) => {
  const b = new LogLinearBins();
  for (const s of samples) b.record(s);
  return b;
};

describe("Envoy's histogram bins, buckets and sums", () => {
  it.each(ENVOY_SUMS)("a sample of %d sums to what Envoy printed", (sample, printed) => {
    expect(formatG32(binned([sample]).approximateSum())).toBe(printed);
  });

  it("sums several samples bin by bin (Envoy printed these for two samples each)", () => {
    expect(formatG32(binned([0, 1001]).approximateSum())).toBe("1047.6190476190477056661620736122");
    expect(formatG32(binned([1, 251]).approximateSum())).toBe("255.94957983193276618294476065785");
    expect(formatG32(binned([5, 2599]).approximateSum())).toBe("2554.0691127936324846814386546612");
    expect(formatG32(binned([10, 100]).approximateSum())).toBe("115.23809523809524080206756480038");
  });

  it("counts a sample in the buckets at or above the start of its bin, as Envoy did", () => {
    // Envoy: 1001 in le="1000", 251 in le="250", 2599 in le="2500", 5 in le="5", 0 in le="0.5".
    expect(binned([0, 1001]).countAtOrBelow(1000)).toBe(2);
    expect(binned([1, 251]).countAtOrBelow(250)).toBe(2);
    expect(binned([5, 2599]).countAtOrBelow(2500)).toBe(2);
    expect(binned([5]).countAtOrBelow(5)).toBe(1);
    expect(binned([5]).countAtOrBelow(1)).toBe(0);
    expect(binned([0]).countAtOrBelow(0.5)).toBe(1);
    expect(binned([26]).countAtOrBelow(25)).toBe(0);
  });

  it("bins by two significant digits", () => {
    expect(logLinearBin(7)).toEqual({ left: 7, width: 0.1 });
    expect(logLinearBin(178)).toEqual({ left: 170, width: 10 });
    expect(logLinearBin(1234)).toEqual({ left: 1200, width: 100 });
    expect(logLinearBin(0)).toEqual({ left: 0, width: 0 });
  });

  it("prints numbers as %.32g", () => {
    expect(formatG32(1248)).toBe("1248");
    expect(formatG32(0.5)).toBe("0.5");
    expect(formatG32(3600000)).toBe("3600000");
    expect(formatG32(1e-5)).toBe("1.0000000000000000818030539140313e-05");
  });
});
