// Writes the Envoy v3 API descriptors the pwasm config tests validate against: the protos of every
// message a `pwasm envoy-config` bootstrap can contain (bootstrap, listener, cluster,
// http_connection_manager, the Wasm filters, router, tcp_proxy, direct_response, TLS), with their
// imports, as a google.protobuf.FileDescriptorSet in proto3 JSON (options, including
// protoc-gen-validate rules, kept).
//
// Source: github.com/envoyproxy/go-control-plane/envoy, which the Envoy project generates from
// envoyproxy/envoy's api/ tree and tags per Envoy release (envoy/v1.40.0 = Envoy 1.40.0), so field
// names, types and validation rules are exactly those of that release.
//
// Regenerate (from the repository root), after bumping the version in go.mod:
//
//	(cd test/envoy/api/gen && go run .) > test/envoy/api/envoy-api.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	_ "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/direct_response/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The files whose messages appear in generated bootstraps (directly or as typed_config).
var roots = []string{
	"envoy/config/bootstrap/v3/bootstrap.proto",
	"envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
	"envoy/extensions/filters/http/wasm/v3/wasm.proto",
	"envoy/extensions/filters/network/wasm/v3/wasm.proto",
	"envoy/extensions/filters/http/router/v3/router.proto",
	"envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
	"envoy/extensions/filters/network/direct_response/v3/config.proto",
	"envoy/extensions/transport_sockets/tls/v3/tls.proto",
}

func main() {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	// Dependencies first, as protoc orders a descriptor set.
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			visit(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, path := range roots {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			fail(err)
		}
		visit(fd)
	}
	raw, err := protojson.Marshal(set)
	if err != nil {
		fail(err)
	}
	// protojson's output varies on purpose; re-encode with sorted keys so regenerating is stable.
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		fail(err)
	}
	source := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/envoyproxy/go-control-plane/envoy" {
				source = dep.Path + "@" + dep.Version
			}
		}
	}
	out, err := json.Marshal(map[string]any{"source": source, "fileDescriptorSet": tree})
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(append(out, '\n'))
	fmt.Fprintf(os.Stderr, "gen: %d files from %s\n", len(set.File), source)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
