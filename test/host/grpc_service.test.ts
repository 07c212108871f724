// Units of the host's gRPC state (host/streams/grpc_calls.ts) that the SDK suites do not reach: how
// the `service` argument names a cluster (a cluster name, or a serialized GrpcService), as Envoy
// reads it.
import { describe, expect, it } from "vitest";
import { grpcServiceCluster } from "../../host/streams/grpc_calls.js";

// Protobuf length-delimited field.
const field = (num: number, body: Buffer) => Buffer.concat([Buffer.from([(num << 3) | 2, body.length]), body]);

describe("gRPC service argument", () => {
  it("is a cluster name when it is not a GrpcService", () => {
    expect(grpcServiceCluster(Buffer.from("grpc_backend"))).toBe("grpc_backend");
    expect(grpcServiceCluster(Buffer.from("outbound|9090||echo.default.svc.cluster.local"))).toBe("outbound|9090||echo.default.svc.cluster.local");
  });

  it("is read as envoy_grpc.cluster_name from a serialized GrpcService", () => {
    const envoyGrpc = Buffer.concat([field(1, Buffer.from("echo_cluster")), field(2, Buffer.from("echo.local"))]);
    const timeout = Buffer.from([0x1a, 0x02, 0x08, 0x05]); // timeout { seconds: 5 }
    expect(grpcServiceCluster(Buffer.concat([field(1, envoyGrpc), timeout]))).toBe("echo_cluster");
  });

  it("falls back to the bytes when the message is malformed", () => {
    const truncated = Buffer.from([0x0a, 0x10, 0x0a, 0x02, 0x61]);
    expect(grpcServiceCluster(truncated)).toBe(truncated.toString("utf8"));
  });
});
