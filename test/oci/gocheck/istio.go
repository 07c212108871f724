// gocheck istio-translate: what Istio makes of WasmPlugin / TrafficExtension resources, computed
// by Istio's own code rather than a re-implementation:
//
//   - pilot: the resources are parsed by Istio's CRD parser, WasmPlugins go through the
//     WasmPlugin → TrafficExtension translation controller (pilot/pkg/config/kube/extensions),
//     and the config generator (pilot/pkg/networking/core, via its ConfigGenTest harness) builds a
//     sidecar's listeners — the filter order per phase — and the ECDS resources
//     (envoy.extensions.filters.{http,network}.wasm.v3.Wasm, configuration as a StringValue);
//   - istio-agent: pkg/wasm's MaybeConvertWasmExtensionConfig fetches each remote module with
//     Istio's fetcher into a local file cache, strips the ISTIO_META_* environment and rewrites
//     vm_config.code to the local file (or substitutes the RBAC fallback when the fetch fails).
//
// The sidecar: namespace = the first resource's namespace, labels from --labels, one HTTP
// service on port 8080 and one TCP service on port 9000 (outbound: CLIENT), and the proxy as an
// instance of both (inbound: SERVER).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	envoycore "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	kubeextensions "istio.io/istio/pilot/pkg/config/kube/extensions"
	"istio.io/istio/pilot/pkg/model"
	istiocore "istio.io/istio/pilot/pkg/networking/core"
	"istio.io/istio/pkg/config/host"
	"istio.io/istio/pkg/config/protocol"
	istiolog "istio.io/istio/pkg/log"
	"istio.io/istio/pkg/wasm"
)

// failer lets Istio's test harness report problems as an error of this command.
type failer struct{ cleanups []func() }

func (f *failer) Fail()                     { panic(errors.New("istio: failed")) }
func (f *failer) FailNow()                  { f.Fail() }
func (f *failer) Fatal(args ...any)         { panic(fmt.Errorf("istio: %s", fmt.Sprint(args...))) }
func (f *failer) Fatalf(s string, a ...any) { panic(fmt.Errorf("istio: "+s, a...)) }
func (f *failer) Log(args ...any)           {}
func (f *failer) Logf(string, ...any)       {}
func (f *failer) TempDir() string           { d, _ := os.MkdirTemp("", "gocheck-"); return d }
func (f *failer) Helper()                   {}
func (f *failer) Cleanup(fn func())         { f.cleanups = append(f.cleanups, fn) }
func (f *failer) Skip(args ...any)          { f.Fatal(args...) }

func (f *failer) done() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// filterInfo is one filter of a chain as Istio wrote it.
type filterInfo struct {
	Name string `json:"name"`
	// ECDS: delivered by extension config discovery (the plugins; Config is the
	// config_discovery); otherwise TypeURL says what, and Config is the typed_config when it is
	// one of plain Envoy's filters.
	ECDS    bool            `json:"ecds"`
	TypeURL string          `json:"typeUrl,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
}

// chainInfo is one filter chain of one listener.
type chainInfo struct {
	Listener       string       `json:"listener"`
	Direction      string       `json:"direction"` // CLIENT (outbound) or SERVER (inbound)
	Port           uint32       `json:"port"`
	Protocol       string       `json:"protocol"` // http or tcp
	NetworkFilters []filterInfo `json:"networkFilters"`
	HTTPFilters    []filterInfo `json:"httpFilters,omitempty"`
}

// ecdsInfo is one ECDS resource: as istiod sends it, as the agent forwards it to Envoy, and the
// file (a binary DiscoveryResponse) that serves the latter to Envoy through a path config source.
type ecdsInfo struct {
	Name   string          `json:"name"`
	Istiod json.RawMessage `json:"istiod"`
	Agent  json.RawMessage `json:"agent"`
	File   string          `json:"file"`
}

type translateResult struct {
	Chains     []chainInfo `json:"chains"`
	ECDS       []ecdsInfo  `json:"ecds"`
	AgentError string      `json:"agentError,omitempty"`
}

func istioTranslate(args []string) (err error) {
	fs := flag.NewFlagSet("istio-translate", flag.ContinueOnError)
	labels := fs.String("labels", "", "the workload's labels: k=v,k=v")
	out := fs.String("out", "", "directory for the ECDS files and the agent's module cache (required)")
	var secrets multiFlag
	fs.Var(&secrets, "pull-secret", "name=file: a kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return errors.New("usage: gocheck istio-translate --out <dir> [--labels k=v,…] [--pull-secret name=file] <resources.yaml>")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	configs, _, err := crd.ParseInputs(string(data))
	if err != nil {
		return fmt.Errorf("istio refuses the resources: %w", err)
	}
	if len(configs) == 0 {
		return errors.New("no WasmPlugin or TrafficExtension in the input")
	}
	namespace := configs[0].Namespace
	if namespace == "" {
		namespace = "default"
	}
	for i := range configs {
		if configs[i].Namespace == "" {
			configs[i].Namespace = namespace
		}
		configs[i].ResourceVersion = "1"
		configs[i].CreationTimestamp = time.Unix(int64(i), 0)
	}

	// Istio's components log to stdout by default; the result alone goes there.
	logOptions := istiolog.DefaultOptions()
	logOptions.OutputPaths = []string{"stderr"}
	logOptions.ErrorOutputPaths = []string{"stderr"}
	if err := istiolog.Configure(logOptions); err != nil {
		return err
	}

	f := &failer{}
	defer f.done()
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
				return
			}
			panic(r)
		}
	}()

	services := []*model.Service{testService("web", 8080, protocol.HTTP, namespace), testService("tcp", 9000, protocol.TCP, namespace)}
	instances := []*model.ServiceInstance{}
	for _, s := range services {
		instances = append(instances, &model.ServiceInstance{
			Service:     s,
			ServicePort: s.Ports[0],
			Endpoint: &model.IstioEndpoint{
				Addresses:       []string{"1.1.1.1"},
				ServicePortName: s.Ports[0].Name,
				EndpointPort:    uint32(s.Ports[0].Port),
				Labels:          parseLabels(*labels),
				Namespace:       namespace,
			},
		})
	}
	cg := istiocore.NewConfigGenTest(f, istiocore.TestOptions{
		Configs:   configs,
		Services:  services,
		Instances: instances,
		// The controller istiod runs to turn every WasmPlugin into a synthetic TrafficExtension.
		CreateConfigStore: func(c model.ConfigStoreController) model.ConfigStoreController {
			return kubeextensions.NewController(c, nil, nil)
		},
	})
	proxy := cg.SetupProxy(&model.Proxy{
		ConfigNamespace: namespace,
		Labels:          parseLabels(*labels),
		Metadata:        &model.NodeMetadata{Labels: parseLabels(*labels), Namespace: namespace},
	})
	listeners := cg.Listeners(proxy)

	res := translateResult{Chains: []chainInfo{}, ECDS: []ecdsInfo{}}
	names := []string{}
	for _, l := range listeners {
		for _, fc := range l.GetFilterChains() {
			c, ok := describeChain(l, fc)
			if !ok {
				continue
			}
			for _, nf := range append(append([]filterInfo{}, c.NetworkFilters...), c.HTTPFilters...) {
				if nf.ECDS && !contains(names, nf.Name) {
					names = append(names, nf.Name)
				}
			}
			res.Chains = append(res.Chains, c)
		}
	}

	pullSecrets := map[string][]byte{}
	for _, s := range secrets {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--pull-secret %q: expected name=file", s)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		// The key istiod's ECDS generator uses for a Secret in the plugin's namespace.
		pullSecrets["kubernetes://"+namespace+"/"+name] = b
	}
	ecds := cg.ConfigGen.BuildExtensionConfiguration(proxy, cg.PushContext(), names, pullSecrets)

	resources := make([]*anypb.Any, 0, len(ecds))
	for _, ec := range ecds {
		a, err := anypb.New(ec)
		if err != nil {
			return err
		}
		resources = append(resources, a)
		js, err := protojson.Marshal(ec)
		if err != nil {
			return err
		}
		res.ECDS = append(res.ECDS, ecdsInfo{Name: ec.Name, Istiod: js})
	}

	// The agent: one file cache, the same conversion as on every ECDS response it proxies.
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
		res.ECDS[i].Agent = js
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
		res.ECDS[i].File = file
	}
	printJSON(res)
	return nil
}

func testService(name string, port int, p protocol.Instance, namespace string) *model.Service {
	return &model.Service{
		CreationTime:   time.Unix(0, 0),
		Hostname:       host.Name(name + "." + namespace + ".svc.cluster.local"),
		DefaultAddress: "10.0.0." + map[string]string{"web": "1", "tcp": "2"}[name],
		Ports:          model.PortList{&model.Port{Name: string(p), Port: port, Protocol: p}},
		Resolution:     model.ClientSideLB,
		Attributes:     model.ServiceAttributes{Name: name, Namespace: namespace},
	}
}

// describeChain names the filters of the chains that serve the test services' ports.
func describeChain(l *listener.Listener, fc *listener.FilterChain) (chainInfo, bool) {
	c := chainInfo{Listener: l.GetName(), NetworkFilters: []filterInfo{}}
	switch {
	case l.GetName() == "virtualInbound":
		c.Direction = "SERVER"
		c.Port = fc.GetFilterChainMatch().GetDestinationPort().GetValue()
	case l.GetAddress().GetSocketAddress().GetPortValue() == 8080 || l.GetAddress().GetSocketAddress().GetPortValue() == 9000:
		c.Direction = "CLIENT"
		c.Port = l.GetAddress().GetSocketAddress().GetPortValue()
	default:
		return c, false
	}
	if c.Port != 8080 && c.Port != 9000 {
		return c, false
	}
	// Inbound chains come in TLS / plaintext / protocol-sniffing variants; the plaintext one is enough.
	if m := fc.GetFilterChainMatch(); m.GetTransportProtocol() == "tls" {
		return c, false
	}
	c.Protocol = "tcp"
	for _, f := range fc.GetFilters() {
		c.NetworkFilters = append(c.NetworkFilters, describeFilter(f.GetName(), f.GetConfigDiscovery(), f.GetTypedConfig()))
		if f.GetName() == "envoy.filters.network.http_connection_manager" {
			c.Protocol = "http"
			m := &hcm.HttpConnectionManager{}
			if err := f.GetTypedConfig().UnmarshalTo(m); err == nil {
				for _, hf := range m.GetHttpFilters() {
					c.HTTPFilters = append(c.HTTPFilters, describeFilter(hf.GetName(), hf.GetConfigDiscovery(), hf.GetTypedConfig()))
				}
			}
		}
	}
	return c, true
}

func describeFilter(name string, discovery *envoycore.ExtensionConfigSource, typed *anypb.Any) filterInfo {
	if discovery != nil {
		fi := filterInfo{Name: name, ECDS: true}
		if js, err := protojson.Marshal(discovery); err == nil {
			fi.Config = js
		}
		return fi
	}
	fi := filterInfo{Name: name, TypeURL: typed.GetTypeUrl()}
	// The configurations of filters plain Envoy knows are kept, so a test can run them too.
	if typed != nil && strings.HasPrefix(typed.GetTypeUrl(), "type.googleapis.com/envoy.") && name != "envoy.filters.network.http_connection_manager" {
		if js, err := protojson.Marshal(typed); err == nil {
			fi.Config = js
		}
	}
	return fi
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
