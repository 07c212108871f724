// Envoy's response flags (the `response.flags` attribute, a bitmask) as the short codes access logs
// and Istio's response_flags label use, in Envoy's bit order, joined by ",". Bits past the known
// table are appended as the decimal remainder, as Istio does, so nothing is lost.

const CODES: StaticArray<string> = [
  "LH", // 0x1 failed local health check
  "UH", // 0x2 no healthy upstream
  "UT", // 0x4 upstream request timeout
  "LR", // 0x8 local reset
  "UR", // 0x10 upstream remote reset
  "UF", // 0x20 upstream connection failure
  "UC", // 0x40 upstream connection termination
  "UO", // 0x80 upstream overflow
  "NR", // 0x100 no route found
  "DI", // 0x200 delay injected
  "FI", // 0x400 fault injected
  "RL", // 0x800 rate limited
  "UAEX", // 0x1000 unauthorized external service
  "RLSE", // 0x2000 rate limit service error
  "DC", // 0x4000 downstream connection termination
  "URX", // 0x8000 upstream retry limit exceeded
  "SI", // 0x10000 stream idle timeout
  "IH", // 0x20000 invalid Envoy request headers
  "DPE", // 0x40000 downstream protocol error
  "UMSDR", // 0x80000 upstream max stream duration reached
  "RFCF", // 0x100000 response from cache filter
  "NFCF", // 0x200000 no filter config found
  "DT", // 0x400000 duration timeout
  "UPE", // 0x800000 upstream protocol error
  "NC", // 0x1000000 no cluster found
  "OM", // 0x2000000 overload manager
  "DF", // 0x4000000 DNS resolution failed
];

/** Short codes for a response-flags bitmask; "-" when no flag is set. */
export function responseFlagsString(flags: u64): string {
  if (flags == 0) return "-";
  let out = "";
  for (let i = 0; i < CODES.length; i++) {
    if ((flags & (<u64>1 << <u64>i)) != 0) {
      if (out.length > 0) out += ",";
      out += unchecked(CODES[i]);
    }
  }
  if (flags >= (<u64>1 << <u64>CODES.length)) {
    if (out.length > 0) out += ",";
    out += flags.toString();
  }
  return out;
}
