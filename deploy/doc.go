// Package deploy has no code of its own. Its test keeps the deployment files at the
// repository root honest without a Docker engine: it parses the Dockerfile,
// docker-compose.yml and .dockerignore, and the config examples in docs/deploy.md, and
// checks them against config.Default() (every default listener port exposed or published,
// a non-root runtime user, codec runtime libraries only, the env variables the binary
// reads). See docs/deploy.md.
package deploy
