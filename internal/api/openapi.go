package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the API's contract, written by hand; the tests check every
// handler's answers, and the requests they send, against it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the OpenAPI 3.1 document of the API as YAML.
func OpenAPI() []byte { return append([]byte(nil), openAPIYAML...) }

// openAPIJSON returns the document as JSON, as GET /v1/openapi.json
// serves it.
func openAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	return append(b, '\n'), nil
}
