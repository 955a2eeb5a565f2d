// The reference for tests/test_yaml_values.py: how Kubernetes' YAML reader turns each scalar of
// scalars.txt into JSON, once as a value ("v: TEXT") and once as a mapping key ("TEXT: 1").
// ghodss/yaml's YAMLToJSON is what sigs.k8s.io/yaml (kubectl, the API server) grew from; both read
// YAML with go-yaml v2. Built offline from Debian's packages (see the test for the command).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ghodss/yaml"
)

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		text := scanner.Text()
		record := map[string]string{"text": text}
		if value, err := yaml.YAMLToJSON([]byte("v: " + text + "\n")); err != nil {
			record["value_error"] = err.Error()
		} else {
			record["value"] = string(value)
		}
		if key, err := yaml.YAMLToJSON([]byte(text + ": 1\n")); err != nil {
			record["key_error"] = err.Error()
		} else {
			record["key"] = string(key)
		}
		line, _ := json.Marshal(record)
		fmt.Println(string(line))
	}
}
