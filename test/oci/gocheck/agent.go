// gocheck istio-agent: what the istio-agent does with the ECDS resources istiod sends, by
// Istio's own code: pkg/wasm's MaybeConvertWasmExtensionConfig fetches each remote module with
// Istio's fetcher into a local file cache, strips the ISTIO_META_* environment and rewrites
// vm_config.code to the local file (or substitutes the RBAC fallback when the fetch fails).
//
// The input is istiod's side, as test/oci/gocheck/cmd/istio-translate printed it (recorded under
// test/oci/istio/translations/): a JSON array of TypedExtensionConfig in protojson.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	envoycore "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	// The configuration istiod puts in a Wasm PluginConfig, for protojson's Any resolution.
	_ "google.golang.org/protobuf/types/known/wrapperspb"
	"istio.io/istio/pkg/wasm"
)

// agentResource is one ECDS resource as the agent forwards it to Envoy, and the file (a binary
// DiscoveryResponse) that serves it to Envoy through a path config source.
type agentResource struct {
	Name  string          `json:"name"`
	Agent json.RawMessage `json:"agent"`
	File  string          `json:"file"`
}

type agentResult struct {
	ECDS       []agentResource `json:"ecds"`
	AgentError string          `json:"agentError,omitempty"`
}

func istioAgent(args []string) error {
	fs := flag.NewFlagSet("istio-agent", flag.ContinueOnError)
	out := fs.String("out", "", "directory for the ECDS files and the agent's module cache (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return errors.New("usage: gocheck istio-agent --out <dir> <ecds.json>")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: expected a JSON array of TypedExtensionConfig: %w", fs.Arg(0), err)
	}
	resources := make([]*anypb.Any, 0, len(raw))
	for i, r := range raw {
		ec := &envoycore.TypedExtensionConfig{}
		if err := protojson.Unmarshal(r, ec); err != nil {
			return fmt.Errorf("resource %d: %w", i, err)
		}
		a, err := anypb.New(ec)
		if err != nil {
			return err
		}
		resources = append(resources, a)
	}

	// One file cache, the same conversion as on every ECDS response the agent proxies.
	if err := os.MkdirAll(filepath.Join(*out, "wasm-cache"), 0o755); err != nil {
		return err
	}
	cache := wasm.NewLocalFileCache(filepath.Join(*out, "wasm-cache"), wasm.Options{
		HTTPRequestTimeout:    15 * time.Second,
		HTTPRequestMaxRetries: 1,
		PurgeInterval:         time.Hour,
		ModuleExpiry:          24 * time.Hour,
	})
	defer cache.Cleanup()
	res := agentResult{ECDS: []agentResource{}}
	if err := wasm.MaybeConvertWasmExtensionConfig(resources, cache); err != nil {
		res.AgentError = err.Error()
	}
	for i, a := range resources {
		ec := &envoycore.TypedExtensionConfig{}
		if err := a.UnmarshalTo(ec); err != nil {
			return err
		}
		js, err := protojson.Marshal(ec)
		if err != nil {
			return err
		}
		resp := &discovery.DiscoveryResponse{VersionInfo: "1", TypeUrl: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", Resources: []*anypb.Any{a}}
		// Binary, as the agent sends it over ADS (Envoy reads a .pb file as a binary message).
		body, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		file := filepath.Join(*out, fmt.Sprintf("ecds-%d.pb", i))
		if err := os.WriteFile(file, body, 0o644); err != nil {
			return err
		}
		res.ECDS = append(res.ECDS, agentResource{Name: ec.GetName(), Agent: js, File: file})
	}
	printJSON(res)
	return nil
}
