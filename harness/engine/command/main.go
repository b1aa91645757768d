// Command pulumi-resource-command is a stand-in for the Pulumi command
// provider (github.com/pulumi/pulumi-command, v1.2.1), built for the test
// engine of this repository because the real provider's Go module is not
// served by the module proxy available here. It implements the part of the
// provider this project uses, wire-compatible with the npm SDK
// @pulumi/command 1.2.1:
//
//   - command:remote:Command       run create/update/delete over SSH
//   - command:remote:CopyToRemote  copy a FileAsset, StringAsset or FileArchive over SFTP
//
// Users of the project install the real provider the usual way (the npm
// package's install script or `pulumi plugin install resource command 1.2.1`).
// See README.md for what differs from the real provider.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const providerName = "command"

// providerVersion is the version of pulumi-command this stands in for: the
// version the SDK asks the engine for. harness/engine.sh sets it from
// harness/versions.env with -ldflags "-X main.providerVersion=...".
var providerVersion = "1.2.1"

func main() {
	err := provider.Main(providerName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}
