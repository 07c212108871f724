// Checks Envoy bootstraps the way Envoy loads them, as a second opinion on the TypeScript
// validator: protobuf JSON parsing into envoy.config.bootstrap.v3.Bootstrap (unknown fields and
// wrong types rejected, Any resolved by its type URL) and then protoc-gen-validate's rules on every
// message, including those packed in Any (typed_config), which Envoy validates when it builds each
// extension.
//
// Input: one JSON bootstrap per line on stdin. Output: one line per input, "ok" or the problem.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/direct_response/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

type validator interface{ ValidateAll() error }

// Validates m and, recursively, every message packed in an Any below it.
func validate(m proto.Message, problems *[]string) {
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			*problems = append(*problems, err.Error())
		}
	}
	walk(m.ProtoReflect(), problems)
}

func walk(m protoreflect.Message, problems *[]string) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			*problems = append(*problems, err.Error())
			return
		}
		validate(inner, problems)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walk(mv.Message(), problems)
				return true
			})
		case fd.Message() == nil:
			return true
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				walk(v.List().Get(i).Message(), problems)
			}
		default:
			walk(v.Message(), problems)
		}
		return true
	})
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for in.Scan() {
		var b bootstrapv3.Bootstrap
		if err := protojson.Unmarshal(in.Bytes(), &b); err != nil {
			fmt.Println("parse: " + strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		var problems []string
		validate(&b, &problems)
		if len(problems) == 0 {
			fmt.Println("ok")
		} else {
			fmt.Println("invalid: " + strings.ReplaceAll(strings.Join(problems, "; "), "\n", " "))
		}
	}
}
