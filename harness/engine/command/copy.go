package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// copyInputs are the decoded inputs of command:remote:CopyToRemote.
type copyInputs struct {
	Connection *connection
	RemotePath string
	// Exactly one of these three is set (after a successful Check).
	LocalPath string // FileAsset or FileArchive (a file or a directory)
	Text      *string
	Hash      string // of the asset or archive, to tell whether Update must copy again
}

func readCopyInputs(m resource.PropertyMap, fails *failures) *copyInputs {
	r := reader{m: m, fails: fails}
	in := &copyInputs{}
	in.Connection = readConnection(r, "connection", true)
	if p := r.str("remotePath"); p != nil {
		in.RemotePath = *p
		if in.RemotePath == "" {
			fails.add("remotePath", "must not be empty")
		}
	} else if !r.has("remotePath") {
		fails.add("remotePath", "missing required property \"remotePath\"")
	}
	if v, ok := m["triggers"]; ok && !v.IsNull() && !isUnknown(v) && !v.IsArray() {
		fails.add("triggers", "must be an array, got %s", v.TypeString())
	}
	v, ok := m["source"]
	switch {
	case !ok || v.IsNull():
		fails.add("source", "missing required property \"source\"")
	case isUnknown(v):
	case v.IsAsset():
		a := v.AssetValue()
		in.Hash = a.Hash
		switch {
		case a.IsPath():
			in.LocalPath = a.Path
		case a.IsText():
			t := a.Text
			in.Text = &t
		default:
			fails.add("source", "asset must be a path-based file asset or a text asset"+
				" (a RemoteAsset is not supported)")
		}
	case v.IsArchive():
		a := v.ArchiveValue()
		in.Hash = a.Hash
		if a.IsPath() {
			in.LocalPath = a.Path
		} else {
			fails.add("source", "archive must be a path to a file or directory (a FileArchive);"+
				" AssetArchive and RemoteArchive are not supported by the stand-in provider")
		}
	default:
		fails.add("source", "must be an asset or an archive, got %s", v.TypeString())
	}
	return in
}

// copyToRemote copies the source to RemotePath over SFTP, with the rules of
// the real provider:
//
//	source | dest exists as dir  | dest does not exist | dest exists as file
//	dir    | dest/dir            | dest/dir            | error
//	dir/   | dest/x for x in dir | dest/x for x in dir | error
//	file   | dest/file           | dest                | dest (overwritten)
//	text   | error               | dest                | dest (overwritten)
//
// Unlike remote.Command, it closes its SSH client (not the proxy client nor
// the agent connection, which go to keep), as the real provider does.
func copyToRemote(ctx context.Context, in *copyInputs, lg logger, keep keeper) error {
	cl, err := dial(ctx, in.Connection, func(msg string) { lg.status(diag.Info, msg) }, keep)
	if err != nil {
		return err
	}
	defer cl.Close()
	sc, err := sftp.NewClient(cl, sftp.UseConcurrentWrites(true))
	if err != nil {
		return fmt.Errorf("ssh %s: starting SFTP: %w", in.Connection.address(), err)
	}
	defer sc.Close()

	dest := in.RemotePath
	destInfo, err := remoteStat(sc, dest)
	if err != nil {
		return err
	}
	if in.Text != nil {
		if destInfo != nil && destInfo.IsDir() {
			return fmt.Errorf("remote path %s is a directory; when using a text asset, remotePath must be a file path", dest)
		}
		lg.status(diag.Info, fmt.Sprintf("copying text to %s:%s", in.Connection.Host, dest))
		return writeRemote(sc, dest, strings.NewReader(*in.Text))
	}

	src := in.LocalPath
	srcInfo, err := os.Stat(src)
	if err != nil {
		return err
	}
	lg.status(diag.Info, fmt.Sprintf("copying %s to %s:%s", src, in.Connection.Host, dest))
	if !srcInfo.IsDir() {
		if destInfo != nil && destInfo.IsDir() {
			dest = path.Join(dest, filepath.Base(src))
		}
		return copyFile(sc, src, dest)
	}
	if destInfo != nil && !destInfo.IsDir() {
		return fmt.Errorf("remote path %s exists but is not a directory", dest)
	}
	if destInfo == nil {
		if err := sc.Mkdir(dest); err != nil {
			return fmt.Errorf("failed to create remote directory %s: %w", dest, err)
		}
	}
	if !strings.HasSuffix(src, "/") {
		dest = path.Join(dest, filepath.Base(src))
		info, err := remoteStat(sc, dest)
		if err != nil {
			return err
		}
		if info != nil && !info.IsDir() {
			return fmt.Errorf("remote path %s exists but is not a directory", dest)
		}
		if info == nil {
			if err := sc.Mkdir(dest); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", dest, err)
			}
		}
	}
	return copyDir(sc, src, dest)
}

// remoteStat returns nil, nil when path does not exist.
func remoteStat(sc *sftp.Client, p string) (fs.FileInfo, error) {
	info, err := sc.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to stat remote path %s: %w", p, err)
	}
	return info, nil
}

func writeRemote(sc *sftp.Client, dest string, r io.Reader) error {
	f, err := sc.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	if _, err := f.ReadFrom(r); err != nil {
		_ = f.Close()
		return fmt.Errorf("failed to write remote file %s: %w", dest, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write remote file %s: %w", dest, err)
	}
	return nil
}

func copyFile(sc *sftp.Client, src, dest string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := writeRemote(sc, dest, f); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}

func copyDir(sc *sftp.Client, src, dest string) error {
	return fs.WalkDir(os.DirFS(src), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		remote := path.Join(dest, filepath.ToSlash(p))
		if !d.IsDir() {
			return copyFile(sc, filepath.Join(src, p), remote)
		}
		info, err := remoteStat(sc, remote)
		if err != nil {
			return err
		}
		if info == nil {
			if err := sc.Mkdir(remote); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", remote, err)
			}
		} else if !info.IsDir() {
			return fmt.Errorf("remote path %s exists but is not a directory", remote)
		}
		return nil
	})
}
