// Package image tests the shipped container image without a Docker engine
// or a registry: it builds orbd statically, assembles the root Dockerfile's
// final stage (testdata/Containerfile, kept identical to it by a test) with
// buildah on a private vfs storage root, and runs it with podman and runc.
// It has no non-test code.
package image
