# The compiled binary in a minimal image. Build the binary first: `make build` (see README: denort).
# distroless/cc carries glibc and libgcc, all a `deno compile`d binary needs.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY dist/meshctl /usr/local/bin/meshctl
COPY config/meshctl.yaml /etc/meshctl/meshctl.yaml
EXPOSE 2045 34901
ENTRYPOINT ["/usr/local/bin/meshctl"]
CMD ["serve", "/etc/meshctl/meshctl.yaml"]
