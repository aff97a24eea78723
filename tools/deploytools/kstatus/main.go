// Command kstatus prints what kstatus (sigs.k8s.io/cli-utils), the library behind Flux's health checks
// and `kubectl wait`-style tooling, computes for each object of a JSON array read from stdin: one JSON
// array of {"status", "message"} in the same order. Tessera's tests use it to prove that the status the
// operator writes reads right to those tools.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	// apimachinery's decoder keeps integers as int64, as the API server's objects have them.
	var objects []map[string]interface{}
	if err := k8sjson.Unmarshal(input, &objects); err != nil {
		fail("stdin must be a JSON array of objects: %v", err)
	}
	results := make([]result, 0, len(objects))
	for i, object := range objects {
		computed, err := status.Compute(&unstructured.Unstructured{Object: object})
		if err != nil {
			fail("object %d: %v", i, err)
		}
		results = append(results, result{Status: computed.Status.String(), Message: computed.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fail("writing stdout: %v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kstatus: "+format+"\n", args...)
	os.Exit(1)
}
