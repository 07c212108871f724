// gocheck: independent checks of what pwasm pushes and writes, using the real code of the
// projects that consume it:
//
//	gocheck fetch <ref> <out.wasm> [pull-secret.json]
//	    Istio's own Wasm image fetcher (istio.io/istio/pkg/wasm, as the istio-agent runs it):
//	    PrepareFetch + the returned fetcher; prints {"digest","size"} and writes the module.
//	gocheck validate-image <ref>
//	    go-containerregistry's validate.Image (manifest, config, layer digests and sizes, and
//	    rootfs.diff_ids against the uncompressed layers); prints {"mediaType","layers"}.
//	gocheck validate-crd <crd.yaml> <resources.yaml>
//	    kube-apiserver's CustomResource validation (k8s.io/apiextensions-apiserver): OpenAPI
//	    schema, x-kubernetes-validations CEL rules with Kubernetes' CEL libraries, list-type
//	    uniqueness, unknown fields; prints one {"kind","name","errors"} per document of the CRD's kind.
//	gocheck istio-agent --out <dir> <ecds.json>
//	    the istio-agent's conversion of istiod's ECDS resources (module fetched by Istio's
//	    fetcher, ISTIO_META_* stripped, code made local); see agent.go.
//
// istiod's own translation (WasmPlugin / TrafficExtension → filter chains and ECDS resources) is
// the separate program cmd/istio-translate: istiod's packages take minutes to compile, so CI runs
// its recorded output instead (docs/istio-deploy.md).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"istio.io/istio/pkg/wasm"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 3 {
		fail(errors.New("usage: gocheck fetch|validate-image|validate-crd|istio-agent …"))
	}
	var err error
	switch os.Args[1] {
	case "fetch":
		err = fetch(os.Args[2:])
	case "validate-image":
		err = validateImage(os.Args[2])
	case "validate-crd":
		err = validateCRD(os.Args[2:])
	case "istio-agent":
		err = istioAgent(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gocheck:", err)
	os.Exit(1)
}

func printJSON(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// fetch runs Istio's fetcher as the agent does: the URL without its oci:// scheme, the pull
// secret (dockerconfigjson bytes) when given, else the default keychain (DOCKER_CONFIG).
func fetch(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: gocheck fetch <ref> <out.wasm> [pull-secret.json]")
	}
	opt := wasm.ImageFetcherOption{}
	if len(args) > 2 {
		secret, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		opt.PullSecret = secret
	}
	f := wasm.NewImageFetcher(context.Background(), opt)
	binaryFetcher, digest, err := f.PrepareFetch(strings.TrimPrefix(args[0], "oci://"))
	if err != nil {
		return err
	}
	module, err := binaryFetcher()
	if err != nil {
		return err
	}
	if err := os.WriteFile(args[1], module, 0o644); err != nil {
		return err
	}
	printJSON(map[string]any{"digest": digest, "size": len(module)})
	return nil
}

func validateImage(ref string) error {
	r, err := name.ParseReference(strings.TrimPrefix(ref, "oci://"), name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return err
	}
	if err := validate.Image(img); err != nil {
		return fmt.Errorf("validate.Image: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	layers := []string{}
	for _, l := range m.Layers {
		layers = append(layers, string(l.MediaType))
	}
	printJSON(map[string]any{"mediaType": string(m.MediaType), "layers": layers})
	return nil
}

type docResult struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Errors []string `json:"errors"`
}

// validateCRD validates every document of the CRD's kind the way the API server does on create.
func validateCRD(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: gocheck validate-crd <crd.yaml> <resources.yaml>")
	}
	crdBytes, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(crdBytes, &crd); err != nil {
		return err
	}
	version := crd.Spec.Versions[0]
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(version.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		return err
	}
	structural, err := schema.NewStructural(&internal)
	if err != nil {
		return err
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return err
	}
	celValidator := cel.NewValidator(structural, true, 10_000_000)
	data, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	results := []docResult{}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return err
		}
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		objName, _ := meta["name"].(string)
		res := docResult{Kind: kind, Name: objName, Errors: []string{}}
		if kind != crd.Spec.Names.Kind || obj["apiVersion"] != crd.Spec.Group+"/"+version.Name {
			results = append(results, res)
			continue
		}
		var errs field.ErrorList
		errs = append(errs, validation.ValidateCustomResource(nil, obj, validator)...)
		errs = append(errs, listtype.ValidateListSetsAndMaps(nil, structural, obj)...)
		celErrs, _ := celValidator.Validate(context.Background(), nil, structural, obj, nil, 10_000_000)
		errs = append(errs, celErrs...)
		// Fields the schema does not know would be dropped (kubectl's strict validation refuses them).
		pruned := pruning.PruneWithOptions(deepCopy(obj), structural, true, structuralOpts())
		for _, p := range pruned {
			if !strings.HasPrefix(p, "metadata.") && p != "metadata" {
				errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
			}
		}
		for _, e := range errs {
			res.Errors = append(res.Errors, e.Error())
		}
		results = append(results, res)
	}
	for _, r := range results {
		printJSON(r)
	}
	return nil
}

func structuralOpts() schema.UnknownFieldPathOptions {
	return schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
}

func deepCopy(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = json.NewDecoder(io.Reader(bytes.NewReader(b))).Decode(&out)
	return out
}
