// Package deploy holds what runs nailtrt outside a developer's shell: the Kubernetes
// manifests (kubernetes/) and, at the repository root, the Dockerfile. It has no Go
// code of its own; its tests check that the manifests and the Dockerfile agree with the
// server they deploy (option names, probe routes, ports, memory bounds, labels), beside
// the schema check `make test-deploy` runs with kubeconform.
package deploy
