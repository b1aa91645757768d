//go:build tools

// Package tools pins the Node.js language host main package so that
// `go mod tidy` keeps its requirements; harness/engine.sh builds it.
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
