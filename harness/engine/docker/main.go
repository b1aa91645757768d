// Command pulumi-resource-docker is a stand-in for the Pulumi docker provider
// (github.com/pulumi/pulumi-docker, v5.2.0), built for the test engine of this
// repository because the real provider's Go module is not served by the
// module proxy available here. It implements the part of the provider this
// project uses, wire-compatible with the npm SDK @pulumi/docker 5.2.0:
//
//   - docker:index/image:Image              build an image (native in the real provider)
//   - docker:index/remoteImage:RemoteImage  find or pull an image; remove the tag on delete
//   - docker:index/network:Network          a user-defined network
//   - docker:index/volume:Volume            a volume
//   - docker:index/container:Container      a container
//
// It talks to dockerd through the Docker Engine API client
// (github.com/docker/docker/client, with API version negotiation). Users of
// the project install the real provider the usual way (the npm package's
// install script or `pulumi plugin install resource docker 5.2.0`). See
// README.md for what differs from the real provider.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const providerName = "docker"

// providerVersion is the version of pulumi-docker this stands in for: the
// version the SDK asks the engine for. harness/engine.sh sets it from
// harness/versions.env with -ldflags "-X main.providerVersion=...".
var providerVersion = "5.2.0"

func main() {
	err := provider.Main(providerName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-docker: %v\n", err)
		os.Exit(1)
	}
}
