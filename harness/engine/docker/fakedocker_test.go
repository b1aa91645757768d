package main

// A fake Docker Engine API (the few endpoints the provider calls), served by
// net/http/httptest on 127.0.0.1, with an in-memory model of images,
// containers, networks and volumes.

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

type fakeImage struct {
	ID   string
	Tags []string
}

type fakeContainer struct {
	ID, Name, Image string
	Config          container.Config
	HostConfig      container.HostConfig
	Networks        map[string]*network.EndpointSettings
	Running         bool
	ExitCode        int
	FinishedAt      time.Time
	Files           map[string]string // uploaded files: path -> content
	FileModes       map[string]int64
}

type fakeNetwork struct {
	ID, Name, Driver string
	Subnet, Gateway  string
	Endpoints        int
}

type fakeDocker struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	images     []*fakeImage
	containers map[string]*fakeContainer
	networks   map[string]*fakeNetwork
	volumes    map[string]bool
	requests   []string            // "METHOD /path" of every request (version prefix stripped)
	builds     []map[string]string // the files of each build context
	buildQuery []string
	createBody []map[string]any
	connects   []map[string]any
	next       int
	// exitOnStart: containers whose command contains this string exit at once.
	exitOnStart string
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func newFakeDocker(t *testing.T) *fakeDocker {
	f := &fakeDocker{t: t, containers: map[string]*fakeContainer{}, networks: map[string]*fakeNetwork{},
		volumes: map[string]bool{}, exitOnStart: "exit-now"}
	f.images = append(f.images, &fakeImage{ID: "sha256:" + strings.Repeat("b", 64), Tags: []string{"base:1"}})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDocker) host() string { return "tcp://" + strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeDocker) id(prefix string) string {
	f.next++
	return fmt.Sprintf("%s%063d", prefix, f.next)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": msg})
}

func (f *fakeDocker) findImage(ref string) *fakeImage {
	if !strings.Contains(ref, ":") && !strings.HasPrefix(ref, "sha256") {
		ref += ":latest"
	}
	for _, img := range f.images {
		if img.ID == ref || strings.HasPrefix(img.ID, "sha256:"+ref) {
			return img
		}
		for _, t := range img.Tags {
			if t == ref {
				return img
			}
		}
	}
	return nil
}

func (f *fakeDocker) findContainer(ref string) *fakeContainer {
	for _, c := range f.containers {
		if c.ID == ref || c.Name == ref || strings.HasPrefix(c.ID, ref) {
			return c
		}
	}
	return nil
}

func (f *fakeDocker) findNetwork(ref string) *fakeNetwork {
	for _, n := range f.networks {
		if n.ID == ref || n.Name == ref {
			return n
		}
	}
	return nil
}

func (f *fakeDocker) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeDocker) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := versionPrefix.ReplaceAllString(r.URL.Path, "")
	f.requests = append(f.requests, r.Method+" "+p)
	w.Header().Set("Api-Version", "1.41")
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/_ping":
		_, _ = io.WriteString(w, "OK")

	// --- images
	case r.Method == "GET" && p == "/images/json":
		var out []map[string]any
		for _, img := range f.images {
			out = append(out, map[string]any{"Id": img.ID, "RepoTags": img.Tags, "RepoDigests": []string{}})
		}
		writeJSON(w, 200, out)
	case r.Method == "GET" && seg[0] == "images" && seg[len(seg)-1] == "json":
		name := strings.Join(seg[1:len(seg)-1], "/")
		img := f.findImage(name)
		if img == nil {
			notFound(w, "No such image: "+name)
			return
		}
		writeJSON(w, 200, map[string]any{"Id": img.ID, "RepoTags": img.Tags, "RepoDigests": []string{}})
	case r.Method == "POST" && p == "/images/create":
		writeJSON(w, 500, map[string]string{"message": `Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host`})
	case r.Method == "DELETE" && seg[0] == "images":
		name := strings.Join(seg[1:], "/")
		img := f.findImage(name)
		if img == nil {
			notFound(w, "No such image: "+name)
			return
		}
		if !strings.Contains(name, ":") {
			name += ":latest"
		}
		var tags []string
		for _, t := range img.Tags {
			if t != name {
				tags = append(tags, t)
			}
		}
		img.Tags = tags
		writeJSON(w, 200, []map[string]string{{"Untagged": name}})
	case r.Method == "POST" && p == "/build":
		f.build(w, r)

	// --- containers
	case r.Method == "POST" && p == "/containers/create":
		var body struct {
			container.Config
			HostConfig       container.HostConfig
			NetworkingConfig network.NetworkingConfig
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		f.createBody = append(f.createBody, m)
		name := r.URL.Query().Get("name")
		if f.findContainer(name) != nil {
			writeJSON(w, 409, map[string]string{"message": fmt.Sprintf("Conflict. The container name \"/%s\" is already in use", name)})
			return
		}
		img := f.findImage(body.Image)
		if img == nil {
			notFound(w, "No such image: "+body.Image)
			return
		}
		c := &fakeContainer{ID: f.id("c"), Name: name, Image: img.ID, Config: body.Config, HostConfig: body.HostConfig,
			Networks: map[string]*network.EndpointSettings{string(body.HostConfig.NetworkMode): {}},
			Files:    map[string]string{}, FileModes: map[string]int64{}}
		c.Config.Image = body.Image
		if c.Config.Hostname == "" {
			c.Config.Hostname = c.ID[:12]
		}
		f.containers[c.ID] = c
		writeJSON(w, 201, map[string]any{"Id": c.ID, "Warnings": []string{}})
	case r.Method == "GET" && p == "/containers/json":
		var out []map[string]any
		for _, c := range f.containers {
			out = append(out, map[string]any{"Id": c.ID, "Names": []string{"/" + c.Name}})
		}
		writeJSON(w, 200, out)
	case seg[0] == "containers" && len(seg) >= 2:
		c := f.findContainer(seg[1])
		if c == nil {
			notFound(w, "No such container: "+seg[1])
			return
		}
		action := ""
		if len(seg) > 2 {
			action = seg[2]
		}
		f.containerAction(w, r, c, action)

	// --- networks
	case r.Method == "POST" && p == "/networks/create":
		var body struct {
			Name   string
			Driver string
			IPAM   *network.IPAM
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if f.findNetwork(body.Name) != nil {
			writeJSON(w, 409, map[string]string{"message": "network with name " + body.Name + " already exists"})
			return
		}
		n := &fakeNetwork{ID: f.id("n"), Name: body.Name, Driver: "bridge"}
		if body.Driver != "" {
			n.Driver = body.Driver
		}
		if body.IPAM != nil && len(body.IPAM.Config) > 0 {
			n.Subnet, n.Gateway = body.IPAM.Config[0].Subnet, body.IPAM.Config[0].Gateway
		}
		f.networks[n.ID] = n
		writeJSON(w, 201, map[string]string{"Id": n.ID})
	case r.Method == "POST" && p == "/networks/bridge/disconnect" && f.findNetwork("bridge") == nil:
		// dockerd --bridge=none: no bridge network, but a created container
		// still lists it; disconnecting a container that is not running drops it.
		var body struct{ Container string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if c := f.findContainer(body.Container); c != nil && !c.Running {
			delete(c.Networks, "bridge")
			w.WriteHeader(200)
			return
		}
		notFound(w, "network bridge not found")
	case seg[0] == "networks" && len(seg) >= 2:
		n := f.findNetwork(seg[1])
		if n == nil {
			notFound(w, "network "+seg[1]+" not found")
			return
		}
		f.networkAction(w, r, n, strings.Join(seg[2:], "/"))

	// --- volumes
	case r.Method == "POST" && p == "/volumes/create":
		var body struct{ Name string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Name == "" {
			body.Name = f.id("v")
		}
		f.volumes[body.Name] = true
		writeJSON(w, 201, f.volumeJSON(body.Name))
	case r.Method == "GET" && seg[0] == "volumes" && len(seg) == 2:
		if !f.volumes[seg[1]] {
			notFound(w, "get "+seg[1]+": no such volume")
			return
		}
		writeJSON(w, 200, f.volumeJSON(seg[1]))
	case r.Method == "DELETE" && seg[0] == "volumes" && len(seg) == 2:
		delete(f.volumes, seg[1])
		w.WriteHeader(204)
	default:
		f.t.Errorf("fake docker: unexpected request %s %s", r.Method, p)
		writeJSON(w, 500, map[string]string{"message": "fake docker: not implemented: " + r.Method + " " + p})
	}
}

func (f *fakeDocker) volumeJSON(name string) map[string]any {
	return map[string]any{"Name": name, "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/" + name + "/_data",
		"Labels": map[string]string{}, "Options": map[string]string{}, "Scope": "local"}
}

func (f *fakeDocker) networkAction(w http.ResponseWriter, r *http.Request, n *fakeNetwork, action string) {
	switch {
	case r.Method == "GET" && action == "":
		ipam := map[string]any{"Driver": "default", "Options": map[string]string{}, "Config": []map[string]string{}}
		if n.Subnet != "" {
			ipam["Config"] = []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}
		}
		writeJSON(w, 200, map[string]any{"Name": n.Name, "Id": n.ID, "Driver": n.Driver, "Scope": "local",
			"IPAM": ipam, "Options": map[string]string{}, "Labels": map[string]string{}})
	case r.Method == "DELETE" && action == "":
		if n.Endpoints > 0 {
			writeJSON(w, 403, map[string]string{"message": "error while removing network: network " + n.Name + " id " + n.ID + " has active endpoints"})
			return
		}
		delete(f.networks, n.ID)
		w.WriteHeader(204)
	case r.Method == "POST" && (action == "connect" || action == "disconnect"):
		var body struct {
			Container      string
			EndpointConfig *network.EndpointSettings
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		c := f.findContainer(body.Container)
		if c == nil {
			notFound(w, "No such container: "+body.Container)
			return
		}
		if action == "connect" {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			f.connects = append(f.connects, m)
			ep := body.EndpointConfig
			if ep == nil {
				ep = &network.EndpointSettings{}
			}
			ep.IPPrefixLen, ep.Gateway = 24, n.Gateway
			if ep.IPAMConfig != nil {
				ep.IPAddress = ep.IPAMConfig.IPv4Address
			}
			ep.MacAddress = "02:42:c6:12:09:0b"
			c.Networks[n.Name] = ep
			n.Endpoints++
		}
		w.WriteHeader(200)
	default:
		f.t.Errorf("fake docker: unexpected network request %s %s", r.Method, action)
		w.WriteHeader(500)
	}
}

func (f *fakeDocker) containerAction(w http.ResponseWriter, r *http.Request, c *fakeContainer, action string) {
	switch {
	case r.Method == "GET" && action == "json":
		state := map[string]any{"Running": c.Running, "ExitCode": c.ExitCode, "Status": "created",
			"StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}
		if c.Running {
			state["Status"] = "running"
		} else if !c.FinishedAt.IsZero() {
			state["Status"] = "exited"
			state["FinishedAt"] = c.FinishedAt.UTC().Format(time.RFC3339Nano)
		}
		nets := map[string]any{}
		for k, v := range c.Networks {
			nets[k] = v
		}
		writeJSON(w, 200, map[string]any{"Id": c.ID, "Name": "/" + c.Name, "Image": c.Image, "State": state,
			"Config": c.Config, "HostConfig": c.HostConfig,
			"NetworkSettings": map[string]any{"Bridge": "", "Ports": map[string]any{}, "Networks": nets}})
	case r.Method == "PUT" && action == "archive":
		tr := tar.NewReader(r.Body)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(tr)
			c.Files[h.Name] = string(b)
			c.FileModes[h.Name] = h.Mode
		}
		w.WriteHeader(200)
	case r.Method == "POST" && action == "start":
		if strings.Contains(strings.Join(c.Config.Cmd, " "), f.exitOnStart) {
			c.Running, c.ExitCode, c.FinishedAt = false, 1, time.Now()
		} else {
			c.Running = true
		}
		w.WriteHeader(204)
	case r.Method == "POST" && action == "stop":
		if c.Running {
			c.Running, c.ExitCode, c.FinishedAt = false, 137, time.Now()
		}
		w.WriteHeader(204)
	case r.Method == "POST" && action == "update":
		var body container.UpdateConfig
		_ = json.NewDecoder(r.Body).Decode(&body)
		c.HostConfig.RestartPolicy = body.RestartPolicy
		writeJSON(w, 200, map[string]any{"Warnings": []string{}})
	case r.Method == "DELETE" && action == "":
		delete(f.containers, c.ID)
		for name := range c.Networks {
			if n := f.findNetwork(name); n != nil {
				n.Endpoints--
			}
		}
		w.WriteHeader(204)
	case r.Method == "POST" && action == "wait":
		writeJSON(w, 200, map[string]any{"StatusCode": c.ExitCode})
	default:
		f.t.Errorf("fake docker: unexpected container request %s %s", r.Method, action)
		w.WriteHeader(500)
	}
}

// build reads the context; a Dockerfile with "RUN false" fails like the V1
// builder does, anything else tags a new image.
func (f *fakeDocker) build(w http.ResponseWriter, r *http.Request) {
	files := map[string]string{}
	tr := tar.NewReader(r.Body)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	f.builds = append(f.builds, files)
	f.buildQuery = append(f.buildQuery, r.URL.RawQuery)
	q := r.URL.Query()
	dockerfile := files[q.Get("dockerfile")]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	enc := json.NewEncoder(w)
	_ = enc.Encode(map[string]string{"stream": "Step 1/2 : FROM base:1\n"})
	if strings.Contains(dockerfile, "RUN false") {
		msg := "The command '/bin/sh -c false' returned a non-zero code: 1"
		_ = enc.Encode(map[string]any{"errorDetail": map[string]any{"code": 1, "message": msg}, "error": msg})
		return
	}
	img := &fakeImage{ID: "sha256:" + fmt.Sprintf("%064d", len(f.builds)), Tags: q["t"]}
	// move the tags off older images
	for _, old := range f.images {
		var keep []string
		for _, t := range old.Tags {
			if !contains(img.Tags, t) {
				keep = append(keep, t)
			}
		}
		old.Tags = keep
	}
	f.images = append(f.images, img)
	_ = enc.Encode(map[string]any{"aux": map[string]string{"ID": img.ID}})
	_ = enc.Encode(map[string]string{"stream": "Successfully built " + img.ID[7:19] + "\n"})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fakeDocker) containerNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.containers {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}
