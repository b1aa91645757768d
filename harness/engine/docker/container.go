package main

// docker:index/container:Container: kreuzwerker's docker_container
// (internal/provider/resource_docker_container.go, _funcs.go and
// _structures.go), bridged, with DeleteBeforeReplace (pulumi-docker
// provider/resources.go).

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var (
	errContainerFailedToBeCreated        = errors.New("container failed to be created")
	errContainerFailedToBeDeleted        = errors.New("container failed to be deleted")
	errContainerExitedImmediately        = errors.New("container exited immediately")
	errContainerFailedToBeInRunningState = errors.New("container failed to be in running state")
	errContainerFailedToBeInHealthyState = errors.New("container failed to be in healthy state")
)

func validatePattern(pattern string) func(string, resource.PropertyValue, *failures) {
	re := regexp.MustCompile(pattern)
	return func(path string, v resource.PropertyValue, f *failures) {
		if v.IsString() && !re.MatchString(v.StringValue()) {
			f.add(path, "%q doesn't match the pattern (%q): %q", path, pattern, v.StringValue())
		}
	}
}

func validateBase64(path string, v resource.PropertyValue, f *failures) {
	if v.IsString() {
		if _, err := base64.StdEncoding.DecodeString(v.StringValue()); err != nil {
			f.add(path, "%q: must be base64-encoded", path)
		}
	}
}

// validateDockerContainerPath is kreuzwerker's: an absolute path.
func validateDockerContainerPath(path string, v resource.PropertyValue, f *failures) {
	if v.IsString() && !regexp.MustCompile(`^[a-zA-Z]:\\|^/`).MatchString(v.StringValue()) {
		f.add(path, "%v must be an absolute path", v.StringValue())
	}
}

var containerSchema = &resSchema{
	token:               typeContainer,
	autoname:            true,
	deleteBeforeReplace: true,
	attrs: map[string]*attr{
		"name":        {kind: kString, required: true, forceNew: true, impl: true},
		"image":       {kind: kString, required: true, forceNew: true, impl: true},
		"hostname":    {kind: kString, computed: true, forceNew: true, impl: true},
		"command":     {kind: kList, elem: kString, computed: true, forceNew: true, impl: true},
		"entrypoints": {kind: kList, elem: kString, computed: true, forceNew: true, impl: true},
		"envs":        {kind: kSet, elem: kString, computed: true, forceNew: true, impl: true},
		"labels":      {kind: kSet, fields: labelFields, computed: true, forceNew: true, impl: true},
		"capabilities": {kind: kObject, forceNew: true, impl: true, fields: map[string]*attr{
			"adds":  {kind: kSet, elem: kString, forceNew: true, impl: true},
			"drops": {kind: kSet, elem: kString, forceNew: true, impl: true},
		}},
		"securityOpts": {kind: kSet, elem: kString, computed: true, forceNew: true, impl: true},
		"cgroupnsMode": {kind: kString, forceNew: true, impl: true},
		"privileged":   {kind: kBool, forceNew: true, impl: true},
		"volumes": {kind: kSet, forceNew: true, impl: true, fields: map[string]*attr{
			"containerPath":  {kind: kString, forceNew: true, impl: true},
			"hostPath":       {kind: kString, forceNew: true, impl: true, validate: validateDockerContainerPath},
			"volumeName":     {kind: kString, forceNew: true, impl: true},
			"readOnly":       {kind: kBool, forceNew: true, impl: true},
			"fromContainer":  {kind: kString, forceNew: true},
			"selinuxRelabel": {kind: kString, forceNew: true},
		}},
		// tmpfs is not ForceNew in kreuzwerker: a change is an update that
		// changes nothing in the container.
		"tmpfs": {kind: kMap, impl: true},
		"networksAdvanced": {kind: kSet, forceNew: true, impl: true, fields: map[string]*attr{
			"name":         {kind: kString, required: true, forceNew: true, impl: true},
			"aliases":      {kind: kSet, elem: kString, forceNew: true, impl: true},
			"ipv4Address":  {kind: kString, forceNew: true, impl: true},
			"ipv6Address":  {kind: kString, forceNew: true},
			"macAddress":   {kind: kString, forceNew: true},
			"gwPriority":   {kind: kInt, forceNew: true},
			"driverOpts":   {kind: kSet, elem: kString, forceNew: true},
			"linkLocalIps": {kind: kSet, elem: kString, forceNew: true},
		}},
		"mustRun":             {kind: kBool, def: defVal(boolProp(true)), impl: true},
		"start":               {kind: kBool, def: defVal(boolProp(true)), impl: true},
		"restart":             {kind: kString, def: defVal(strProp("no")), impl: true, validate: validatePattern(`^(no|on-failure|always|unless-stopped)$`)},
		"maxRetryCount":       {kind: kInt, impl: true},
		"stopSignal":          {kind: kString, computed: true, forceNew: true, impl: true},
		"stopTimeout":         {kind: kInt, computed: true, forceNew: true, impl: true},
		"destroyGraceSeconds": {kind: kInt, impl: true},
		"uploads": {kind: kSet, forceNew: true, impl: true, fields: map[string]*attr{
			"file":          {kind: kString, required: true, forceNew: true, impl: true},
			"content":       {kind: kString, forceNew: true, impl: true},
			"contentBase64": {kind: kString, forceNew: true, impl: true, validate: validateBase64},
			"executable":    {kind: kBool, forceNew: true, def: defVal(boolProp(false)), impl: true},
			"source":        {kind: kString, forceNew: true, impl: true},
			"sourceHash":    {kind: kString, forceNew: true, impl: true},
			"permissions":   {kind: kString, forceNew: true},
			"owner":         {kind: kString, forceNew: true},
			"group":         {kind: kString, forceNew: true},
		}},
		"ports": {kind: kList, forceNew: true, impl: true, fields: map[string]*attr{
			"internal": {kind: kInt, required: true, forceNew: true, impl: true},
			"external": {kind: kInt, computed: true, forceNew: true, impl: true},
			"ip":       {kind: kString, forceNew: true, def: defVal(strProp("0.0.0.0")), impl: true},
			"protocol": {kind: kString, forceNew: true, def: defVal(strProp("tcp")), impl: true},
		}},
		"wait":          {kind: kBool, def: defVal(boolProp(false)), impl: true},
		"waitTimeout":   {kind: kInt, def: defVal(intProp(60)), impl: true},
		"rm":            {kind: kBool, def: defVal(boolProp(false)), impl: true},
		"attach":        {kind: kBool, def: defVal(boolProp(false)), impl: true},
		"logs":          {kind: kBool, def: defVal(boolProp(false)), impl: true},
		"removeVolumes": {kind: kBool, def: defVal(boolProp(true)), impl: true},
		"containerReadRefreshTimeoutMilliseconds": {kind: kInt, def: defVal(intProp(15000)), impl: true},
		"networkMode": {kind: kString, forceNew: true, def: defVal(strProp("bridge")), impl: true},
		// Defaulted inputs the stand-in accepts only at their default value.
		"readOnly":  {kind: kBool, forceNew: true, def: defVal(boolProp(false))},
		"tty":       {kind: kBool, forceNew: true, def: defVal(boolProp(false))},
		"stdinOpen": {kind: kBool, forceNew: true, def: defVal(boolProp(false))},
		// Outputs.
		"networkDatas":  {kind: kList, output: true},
		"bridge":        {kind: kString, output: true},
		"exitCode":      {kind: kInt, output: true},
		"containerLogs": {kind: kString, output: true},
	},
}

type containerResource struct{}

func (containerResource) schema() *resSchema { return containerSchema }

func (containerResource) diffHooks() map[string]diffHook {
	return map[string]diffHook{"ports": portsDiff}
}

// portsDiff is kreuzwerker's suppressIfPortsDidNotChangeForMigrationV0ToV1
// (no change if every old port is still there with the same protocol,
// external port and ip), else the list changed (ForceNew).
func portsDiff(olds, news resource.PropertyMap) (bool, bool) {
	oldPorts, newPorts := getObjects(olds, "ports"), getObjects(news, "ports")
	if v, ok := news["ports"]; ok && v.ContainsUnknowns() {
		return true, true
	}
	if len(oldPorts) != len(newPorts) {
		return true, true
	}
	val := func(m resource.PropertyMap, k string) any {
		v, ok := m[resource.PropertyKey(k)]
		if !ok || v.IsNull() {
			return nil
		}
		return v.V
	}
	for _, op := range oldPorts {
		found := false
		for _, np := range newPorts {
			if val(np, "internal") != val(op, "internal") {
				continue
			}
			if val(np, "protocol") != val(op, "protocol") {
				if containsPortWithProtocol(newPorts, val(op, "internal"), val(op, "protocol")) {
					continue
				}
				return true, true
			}
			// external is Optional+Computed: unset in the program plans the state value.
			if ne := val(np, "external"); ne != nil && ne != val(op, "external") {
				return true, true
			}
			if val(np, "ip") != val(op, "ip") {
				return true, true
			}
			found = true
			break
		}
		if !found {
			return true, true
		}
	}
	return true, false
}

func containsPortWithProtocol(ports []resource.PropertyMap, internal, protocol any) bool {
	for _, p := range ports {
		if p["internal"].V == internal && p["protocol"].V == protocol {
			return true
		}
	}
	return false
}

// --- create -----------------------------------------------------------------------

func (r containerResource) create(ctx context.Context, op *operation, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	cli := op.cli
	img := getStr(in, "image")
	if _, err := findImage(ctx, cli, img, ""); err != nil {
		return "", nil, fmt.Errorf("Unable to create container with image %s: %s", img, err)
	}
	var stopTimeout *int
	if v, ok := getOk(in, "stopTimeout"); ok {
		t := int(v.NumberValue())
		stopTimeout = &t
	}
	config := &container.Config{
		Image:       img,
		Hostname:    getStr(in, "hostname"),
		Tty:         getBool(in, "tty"),
		OpenStdin:   getBool(in, "stdinOpen"),
		StopSignal:  getStr(in, "stopSignal"),
		StopTimeout: stopTimeout,
	}
	if _, ok := getOk(in, "envs"); ok {
		config.Env = getStrings(in, "envs")
	}
	if _, ok := getOk(in, "command"); ok {
		config.Cmd = getStrings(in, "command")
		for _, c := range config.Cmd {
			if c == "" {
				return "", nil, errors.New("values for command may not be empty")
			}
		}
	}
	if _, ok := getOk(in, "entrypoints"); ok {
		config.Entrypoint = getStrings(in, "entrypoints")
	}
	exposedPorts, portBindings := nat.PortSet{}, nat.PortMap{}
	if _, ok := getOk(in, "ports"); ok {
		exposedPorts, portBindings = portsToDockerPorts(getObjects(in, "ports"))
	}
	if len(exposedPorts) != 0 {
		config.ExposedPorts = exposedPorts
	}
	volumes, binds, volumesFrom := map[string]struct{}{}, []string{}, []string{}
	if _, ok := getOk(in, "volumes"); ok {
		var err error
		if volumes, binds, volumesFrom, err = volumeSetToDockerVolumes(getObjects(in, "volumes")); err != nil {
			return "", nil, fmt.Errorf("Unable to parse volumes: %s", err)
		}
	}
	if len(volumes) != 0 {
		config.Volumes = volumes
	}
	if _, ok := getOk(in, "labels"); ok {
		config.Labels = labelSetToMap(getObjects(in, "labels"))
	}

	hostConfig := &container.HostConfig{
		Privileged: getBool(in, "privileged"),
		RestartPolicy: container.RestartPolicy{
			Name:              container.RestartPolicyMode(getStr(in, "restart")),
			MaximumRetryCount: getInt(in, "maxRetryCount"),
		},
		Mounts:         []mount.Mount{},
		AutoRemove:     getBool(in, "rm"),
		ReadonlyRootfs: getBool(in, "readOnly"),
	}
	if _, ok := getOk(in, "tmpfs"); ok {
		hostConfig.Tmpfs = getStringMap(in, "tmpfs")
	}
	if len(portBindings) != 0 {
		hostConfig.PortBindings = portBindings
	}
	if len(binds) != 0 {
		hostConfig.Binds = binds
	}
	if len(volumesFrom) != 0 {
		hostConfig.VolumesFrom = volumesFrom
	}
	if caps, ok := getObject(in, "capabilities"); ok && len(caps) > 0 {
		hostConfig.CapAdd = nonNil(getStrings(caps, "adds"))
		hostConfig.CapDrop = nonNil(getStrings(caps, "drops"))
	}
	if _, ok := getOk(in, "securityOpts"); ok {
		hostConfig.SecurityOpt = getStrings(in, "securityOpts")
	}
	if v, ok := getOk(in, "networkMode"); ok {
		hostConfig.NetworkMode = container.NetworkMode(v.StringValue())
	}
	if v, ok := getOk(in, "cgroupnsMode"); ok {
		if cli.ClientVersion() >= "1.41" {
			mode := container.CgroupnsMode(v.StringValue())
			if !mode.Valid() {
				return "", nil, errors.New("cgroupns_mode: invalid CGROUP mode, must be either 'private', 'host' or empty")
			}
			hostConfig.CgroupnsMode = mode
		}
	}
	initFalse := false
	hostConfig.Init = &initFalse

	created, err := cli.ContainerCreate(ctx, config, hostConfig, &network.NetworkingConfig{}, nil, getStr(in, "name"))
	if err != nil {
		return "", nil, fmt.Errorf("Unable to create container: %s", err)
	}
	id := created.ID
	state := stateFromInputs(in)
	state["id"] = strProp(id)
	fail := func(err error) (string, resource.PropertyMap, error) { return id, state, err }

	if _, ok := getOk(in, "networksAdvanced"); ok {
		if err := cli.NetworkDisconnect(ctx, "bridge", id, false); err != nil {
			if !containsIgnorableErrorMessage(err.Error(), "is not connected to the network bridge") {
				return fail(fmt.Errorf("Unable to disconnect the default network: %s", err))
			}
		}
		for _, n := range getObjects(in, "networksAdvanced") {
			name := getStr(n, "name")
			endpoint := &network.EndpointSettings{
				IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: getStr(n, "ipv4Address")},
			}
			if has(n, "aliases") {
				endpoint.Aliases = nonNil(getStrings(n, "aliases"))
			}
			if err := cli.NetworkConnect(ctx, name, id, endpoint); err != nil {
				return fail(fmt.Errorf("Unable to connect to network '%s': %s", name, err))
			}
		}
	}

	if _, ok := getOk(in, "uploads"); ok {
		for _, u := range getObjects(in, "uploads") {
			content, contentBase64, source := getStr(u, "content"), getStr(u, "contentBase64"), getStr(u, "source")
			set := 0
			for _, s := range []string{content, contentBase64, source} {
				if s != "" {
					set++
				}
			}
			if set == 0 {
				return fail(errors.New("error with upload content: one of 'content', 'content_base64', or 'source' must be set"))
			}
			if set > 1 {
				return fail(errors.New("error with upload content: only one of 'content', 'content_base64', or 'source' can be set"))
			}
			data := content
			if contentBase64 != "" {
				decoded, _ := base64.StdEncoding.DecodeString(contentBase64)
				data = string(decoded)
			}
			if source != "" {
				b, err := os.ReadFile(source)
				if err != nil {
					return fail(fmt.Errorf("could not read file: %s", err))
				}
				data = string(b)
			}
			mode := int64(0o644)
			if getBool(u, "executable") {
				mode = 0o744
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if err := tw.WriteHeader(&tar.Header{Name: getStr(u, "file"), Mode: mode, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
				return fail(fmt.Errorf("Error creating tar archive: %s", err))
			}
			if _, err := tw.Write([]byte(data)); err != nil {
				return fail(fmt.Errorf("Error creating tar archive: %s", err))
			}
			if err := tw.Close(); err != nil {
				return fail(fmt.Errorf("Error creating tar archive: %s", err))
			}
			if err := cli.CopyToContainer(ctx, id, "/", bytes.NewReader(buf.Bytes()), container.CopyToContainerOptions{}); err != nil {
				return fail(fmt.Errorf("Unable to upload volume content: %s", err))
			}
		}
	}

	if getBool(in, "start") {
		op.p.setCreationTime(time.Now())
		if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fail(fmt.Errorf("Unable to start container: %s", err))
		}
		if getBool(in, "wait") {
			if err := waitHealthy(ctx, op, id, time.Duration(getInt(in, "waitTimeout"))*time.Second); err != nil {
				return fail(err)
			}
		}
	}

	if getBool(in, "attach") {
		logs, err := attachAndWait(ctx, op, id, getBool(in, "logs"))
		if err != nil {
			return fail(err)
		}
		if getBool(in, "logs") {
			state["containerLogs"] = strProp(logs)
		}
	}

	newID, out, err := r.read(ctx, op, id, state)
	if err != nil {
		if newID == "" && out == nil {
			if gone, _ := containerGone(ctx, op, id); gone {
				return "", nil, err // the read deleted it
			}
		}
		return fail(err)
	}
	if newID == "" {
		return "", nil, fmt.Errorf("stand-in docker provider: container %s was removed by the read that follows its creation", getStr(in, "name"))
	}
	return newID, out, nil
}

func containerGone(ctx context.Context, op *operation, id string) (bool, error) {
	c, err := fetchDockerContainer(ctx, op, id)
	return c == nil && err == nil, err
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// waitHealthy: inspect once a second until the health status is healthy.
func waitHealthy(ctx context.Context, op *operation, id string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		info, err := op.cli.ContainerInspect(wctx, id)
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return errContainerFailedToBeInHealthyState
			}
			return fmt.Errorf("error inspecting container state: %s", err)
		}
		if info.State == nil || info.State.Health == nil {
			// The real provider dereferences the missing health state and
			// crashes (nil pointer dereference); the stand-in fails instead.
			return errors.New("stand-in docker provider: wait is true but the container has no healthcheck " +
				"(pulumi-docker 5.2.0 crashes here with a nil pointer dereference)")
		}
		if info.State.Health.Status == container.Healthy {
			return nil
		}
		t := time.NewTimer(op.p.timing.healthPoll)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errContainerFailedToBeInHealthyState
		case <-t.C:
		}
	}
}

// attachAndWait: wait until the container is not running; with logs, its
// followed log stream (read as raw lines, stream headers included, as the
// real provider does).
func attachAndWait(ctx context.Context, op *operation, id string, withLogs bool) (string, error) {
	var b bytes.Buffer
	logsRead := make(chan struct{})
	if withLogs {
		go func() {
			defer close(logsRead)
			reader, err := op.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
			if err != nil {
				return
			}
			defer reader.Close()
			sc := bufio.NewScanner(reader)
			for sc.Scan() {
				b.WriteString(sc.Text())
				b.WriteString("\n")
			}
		}()
	}
	okC, errC := op.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case err := <-errC:
		if err != nil {
			return "", fmt.Errorf("Unable to wait container end of execution: %s", err)
		}
	case <-okC:
		if withLogs {
			<-logsRead
			return b.String(), nil
		}
	}
	return "", nil
}

// portsToDockerPorts is kreuzwerker's portSetToDockerPorts.
func portsToDockerPorts(ports []resource.PropertyMap) (nat.PortSet, nat.PortMap) {
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, p := range ports {
		port := nat.Port(strconv.Itoa(getInt(p, "internal")) + "/" + getStr(p, "protocol"))
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], nat.PortBinding{
			HostPort: strconv.Itoa(getInt(p, "external")),
			HostIP:   getStr(p, "ip"),
		})
	}
	return exposed, bindings
}

// volumeSetToDockerVolumes is kreuzwerker's.
func volumeSetToDockerVolumes(vols []resource.PropertyMap) (map[string]struct{}, []string, []string, error) {
	volumeMap, binds, from := map[string]struct{}{}, []string{}, []string{}
	for _, v := range vols {
		fromContainer := getStr(v, "fromContainer")
		containerPath := getStr(v, "containerPath")
		volumeName := getStr(v, "volumeName")
		if volumeName == "" {
			volumeName = getStr(v, "hostPath")
		}
		switch {
		case fromContainer == "" && containerPath == "":
			return volumeMap, binds, from, errors.New("Volume entry without container path or source container")
		case fromContainer != "" && containerPath != "":
			return volumeMap, binds, from, errors.New("Both a container and a path specified in a volume entry")
		case fromContainer != "":
			from = append(from, fromContainer)
		case volumeName != "":
			rw := "rw"
			if getBool(v, "readOnly") {
				rw = "ro"
			}
			binds = append(binds, volumeName+":"+containerPath+":"+rw)
		default:
			volumeMap[containerPath] = struct{}{}
		}
	}
	return volumeMap, binds, from, nil
}

// --- read -----------------------------------------------------------------------

// fetchDockerContainer lists all containers and finds the one with the ID.
func fetchDockerContainer(ctx context.Context, op *operation, id string) (*container.Summary, error) {
	list, err := op.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("error fetching container information from Docker: %s\n", err)
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}

// read is resourceDockerContainerRead: a container that is gone leaves the
// state; one that must run and does not is deleted (and the read fails,
// except on a refresh in a provider process that started no container:
// then it is deleted and leaves the state).
func (r containerResource) read(ctx context.Context, op *operation, id string, state resource.PropertyMap) (string, resource.PropertyMap, error) {
	timeoutMs := getInt(state, "containerReadRefreshTimeoutMilliseconds")
	if timeoutMs == 0 {
		timeoutMs = 15000
	}
	c, err := fetchDockerContainer(ctx, op, id)
	if err != nil {
		return "", nil, err
	}
	if c == nil {
		return "", nil, nil
	}
	mustRun := getBool(state, "mustRun")
	t := op.p.timing
	res, err := waitForState(ctx, t.containerReadDelay, t.containerReadMinTimeout, time.Duration(timeoutMs)*time.Millisecond,
		[]string{"pending"}, []string{"running"}, func() (any, string, error) {
			cont, err := op.cli.ContainerInspect(ctx, id)
			if err != nil {
				return cont, "pending", err
			}
			if cont.State.Running || !mustRun {
				return cont, "running", nil
			}
			created := op.p.getCreationTime()
			if created.IsZero() {
				return cont, "pending", errContainerFailedToBeCreated
			}
			finish, err := time.Parse(time.RFC3339, cont.State.FinishedAt)
			if err != nil {
				return cont, "pending", err
			}
			if finish.After(created) {
				return cont, "pending", errContainerExitedImmediately
			}
			return cont, "running", nil
		})
	if err != nil {
		if errors.Is(err, errContainerFailedToBeCreated) {
			if derr := r.delete(ctx, op, id, state); derr != nil {
				return "", nil, derr
			}
			return "", nil, nil
		}
		if errors.Is(err, errContainerExitedImmediately) {
			if derr := r.delete(ctx, op, id, state); derr != nil {
				return "", nil, errContainerFailedToBeDeleted
			}
		}
		return "", nil, err
	}
	cont := res.(container.InspectResponse)
	if !cont.State.Running && mustRun {
		if derr := r.delete(ctx, op, id, state); derr != nil {
			return "", nil, derr
		}
		return "", nil, errContainerFailedToBeInRunningState
	}

	out := state.Copy()
	if !cont.State.Running {
		out["exitCode"] = intProp(int64(cont.State.ExitCode))
	}
	if cont.NetworkSettings != nil {
		out["bridge"] = strProp(cont.NetworkSettings.Bridge)
		out["ports"] = flattenContainerPorts(cont.NetworkSettings.Ports)
		out["networkDatas"] = flattenContainerNetworks(cont.NetworkSettings.Networks)
	}
	out["id"] = strProp(cont.ID)
	out["name"] = strProp(strings.TrimLeft(cont.Name, "/"))
	out["rm"] = boolProp(cont.HostConfig.AutoRemove)
	out["readOnly"] = boolProp(cont.HostConfig.ReadonlyRootfs)
	out["image"] = strProp(cont.Image)
	out["hostname"] = strProp(cont.Config.Hostname)
	out["command"] = strListProp(cont.Config.Cmd)
	out["entrypoints"] = strListProp(cont.Config.Entrypoint)
	out["securityOpts"] = strListProp(cont.HostConfig.SecurityOpt)
	out["restart"] = strProp(string(cont.HostConfig.RestartPolicy.Name))
	out["maxRetryCount"] = intProp(int64(cont.HostConfig.RestartPolicy.MaximumRetryCount))
	if len(cont.HostConfig.CapAdd) > 0 || len(cont.HostConfig.CapDrop) > 0 {
		out["capabilities"] = resource.NewObjectProperty(resource.PropertyMap{
			"adds":  strListProp(cont.HostConfig.CapAdd),
			"drops": strListProp(cont.HostConfig.CapDrop),
		})
	}
	out["tmpfs"] = strMapProp(cont.HostConfig.Tmpfs)
	out["privileged"] = boolProp(cont.HostConfig.Privileged)
	out["networkMode"] = strProp(string(cont.HostConfig.NetworkMode))
	out["tty"] = boolProp(cont.Config.Tty)
	out["stdinOpen"] = boolProp(cont.Config.OpenStdin)
	out["stopSignal"] = strProp(cont.Config.StopSignal)
	if cont.Config.StopTimeout != nil {
		out["stopTimeout"] = intProp(int64(*cont.Config.StopTimeout))
	} else {
		out["stopTimeout"] = intProp(0)
	}
	return cont.ID, out, nil
}

func flattenContainerPorts(in nat.PortMap) resource.PropertyValue {
	type port struct {
		internal, external int
		ip, protocol       string
	}
	var ports []port
	for p, bindings := range in {
		parts := strings.Split(string(p), "/")
		internal, _ := strconv.Atoi(parts[0])
		proto := ""
		if len(parts) > 1 {
			proto = parts[1]
		}
		for _, b := range bindings {
			external, _ := strconv.Atoi(b.HostPort)
			ports = append(ports, port{internal, external, b.HostIP, proto})
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].internal != ports[j].internal {
			return ports[i].internal < ports[j].internal
		}
		return ports[i].protocol < ports[j].protocol
	})
	arr := make([]resource.PropertyValue, 0, len(ports))
	for _, p := range ports {
		arr = append(arr, resource.NewObjectProperty(resource.PropertyMap{
			"internal": intProp(int64(p.internal)),
			"external": intProp(int64(p.external)),
			"ip":       strProp(p.ip),
			"protocol": strProp(p.protocol),
		}))
	}
	return resource.NewArrayProperty(arr)
}

func flattenContainerNetworks(nets map[string]*network.EndpointSettings) resource.PropertyValue {
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	sort.Strings(names)
	arr := make([]resource.PropertyValue, 0, len(names))
	for _, n := range names {
		d := nets[n]
		if d == nil {
			d = &network.EndpointSettings{}
		}
		arr = append(arr, resource.NewObjectProperty(resource.PropertyMap{
			"networkName":            strProp(n),
			"ipAddress":              strProp(d.IPAddress),
			"ipPrefixLength":         intProp(int64(d.IPPrefixLen)),
			"gateway":                strProp(d.Gateway),
			"globalIpv6Address":      strProp(d.GlobalIPv6Address),
			"globalIpv6PrefixLength": intProp(int64(d.GlobalIPv6PrefixLen)),
			"ipv6Gateway":            strProp(d.IPv6Gateway),
			"macAddress":             strProp(d.MacAddress),
		}))
	}
	return resource.NewArrayProperty(arr)
}

// --- update and delete -------------------------------------------------------------

// update: only the restart policy is updated in the container (kreuzwerker
// also updates cpu_shares, memory, cpu_set and memory_swap, which the
// stand-in does not implement); every other in-place change (tmpfs, mustRun,
// start, ...) only changes the state. No read follows.
func (containerResource) update(ctx context.Context, op *operation, id string, olds, planned resource.PropertyMap) (resource.PropertyMap, error) {
	changed := getStr(olds, "restart") != getStr(planned, "restart") ||
		getInt(olds, "maxRetryCount") != getInt(planned, "maxRetryCount")
	if changed {
		_, err := op.cli.ContainerUpdate(ctx, id, container.UpdateConfig{
			RestartPolicy: container.RestartPolicy{
				Name:              container.RestartPolicyMode(getStr(planned, "restart")),
				MaximumRetryCount: getInt(planned, "maxRetryCount"),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("Unable to update a container: %v", err)
		}
	}
	return planned, nil
}

// delete is resourceDockerContainerDelete: stop (unless attach) with
// destroyGraceSeconds as the timeout (0 when unset: killed at once), remove
// with force (and the anonymous volumes unless removeVolumes is false),
// then wait until it is not running (removed, with rm).
func (containerResource) delete(ctx context.Context, op *operation, id string, state resource.PropertyMap) error {
	cli := op.cli
	if !getBool(state, "attach") {
		timeout := 0
		if g := getInt(state, "destroyGraceSeconds"); g > 0 {
			timeout = g
		}
		if err := cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
			return fmt.Errorf("Error stopping container %s: %s", id, err)
		}
	}
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{
		RemoveVolumes: getBool(state, "removeVolumes"),
		RemoveLinks:   getBool(state, "rm"),
		Force:         true,
	})
	if err != nil && !containsIgnorableErrorMessage(err.Error(), "No such container", "is already in progress") {
		return fmt.Errorf("Error deleting container %s: %s", id, err)
	}
	cond := container.WaitConditionNotRunning
	if getBool(state, "rm") {
		cond = container.WaitConditionRemoved
	}
	okC, errC := cli.ContainerWait(ctx, id, cond)
	select {
	case <-okC:
	case err := <-errC:
		if err != nil && !containsIgnorableErrorMessage(err.Error(), "No such container", "is already in progress") {
			return fmt.Errorf("Error waiting for container removal '%s': %s", id, err)
		}
	}
	return nil
}
