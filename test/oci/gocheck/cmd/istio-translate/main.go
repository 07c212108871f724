// istio-translate: what istiod makes of WasmPlugin / TrafficExtension resources, computed by
// Istio's own code rather than a re-implementation. The resources are parsed by Istio's CRD parser,
// WasmPlugins go through the WasmPlugin → TrafficExtension translation controller
// (pilot/pkg/config/kube/extensions), and the config generator (pilot/pkg/networking/core, via its
// ConfigGenTest harness) builds a sidecar's listeners — the filter order per phase — and the ECDS
// resources (envoy.extensions.filters.{http,network}.wasm.v3.Wasm, configuration as a StringValue).
//
//	istio-translate [--labels k=v,…] [--pull-secret name=file] <resources.yaml>
//
// prints one JSON object: the Istio module versions it was built with, the filter chains and the
// ECDS resources as istiod sends them. The istio-agent's step (module fetch, code made local) is
// gocheck's istio-agent command, which stays out of this program.
//
// It lives apart from gocheck because istiod's packages take ~7 minutes to compile from a cold
// cache: CI runs the recorded output (test/oci/istio/translations/, docs/istio-deploy.md), and
// `npm run istio:translations` builds this program and records it again.
//
// The sidecar: namespace = the first resource's namespace, labels from --labels, one HTTP
// service on port 8080 and one TCP service on port 9000 (outbound: CLIENT), and the proxy as an
// instance of both (inbound: SERVER).
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	envoycore "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	kubeextensions "istio.io/istio/pilot/pkg/config/kube/extensions"
	"istio.io/istio/pilot/pkg/model"
	istiocore "istio.io/istio/pilot/pkg/networking/core"
	"istio.io/istio/pkg/config/host"
	"istio.io/istio/pkg/config/protocol"
	istiolog "istio.io/istio/pkg/log"
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

// ecdsInfo is one ECDS resource as istiod sends it (a TypedExtensionConfig).
type ecdsInfo struct {
	Name   string          `json:"name"`
	Istiod json.RawMessage `json:"istiod"`
}

type translateResult struct {
	// Versions of the modules whose code made this translation, as linked into this program.
	Versions map[string]string `json:"versions"`
	Chains   []chainInfo       `json:"chains"`
	ECDS     []ecdsInfo        `json:"ecds"`
}

// versionedModules are the modules a recorded translation names (docs/istio-deploy.md).
var versionedModules = []string{"istio.io/istio", "istio.io/api", "istio.io/client-go", "github.com/envoyproxy/go-control-plane/envoy"}

func main() {
	if err := istioTranslate(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "istio-translate:", err)
		os.Exit(1)
	}
}

func istioTranslate(args []string) (err error) {
	fs := flag.NewFlagSet("istio-translate", flag.ContinueOnError)
	labels := fs.String("labels", "", "the workload's labels: k=v,k=v")
	var secrets multiFlag
	fs.Var(&secrets, "pull-secret", "name=file: a kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: istio-translate [--labels k=v,…] [--pull-secret name=file] <resources.yaml>")
	}
	versions, err := moduleVersions()
	if err != nil {
		return err
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

	res := translateResult{Versions: versions, Chains: []chainInfo{}, ECDS: []ecdsInfo{}}
	for _, l := range listeners {
		for _, fc := range l.GetFilterChains() {
			if c, ok := describeChain(l, fc); ok {
				res.Chains = append(res.Chains, c)
			}
		}
	}
	// istiod's listener order follows map iteration; a recording needs one order.
	slices.SortStableFunc(res.Chains, func(a, b chainInfo) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Listener, b.Listener))
	})
	names := []string{}
	for _, c := range res.Chains {
		for _, nf := range append(append([]filterInfo{}, c.NetworkFilters...), c.HTTPFilters...) {
			if nf.ECDS && !slices.Contains(names, nf.Name) {
				names = append(names, nf.Name)
			}
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

	for _, ec := range ecds {
		js, err := protojson.Marshal(ec)
		if err != nil {
			return err
		}
		res.ECDS = append(res.ECDS, ecdsInfo{Name: ec.Name, Istiod: js})
	}

	printJSON(res)
	return nil
}

// moduleVersions reads the versions of versionedModules from this binary's build information.
func moduleVersions() (map[string]string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, errors.New("no build information in this binary")
	}
	out := map[string]string{}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if slices.Contains(versionedModules, d.Path) {
			out[d.Path] = d.Version
		}
	}
	for _, m := range versionedModules {
		if out[m] == "" {
			return nil, fmt.Errorf("module %s is not linked into this binary", m)
		}
	}
	return out, nil
}

func printJSON(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
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

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
