module github.com/endpoint-rpc/endpoint

go 1.25

require github.com/pkg/errors v0.9.1

require go.uber.org/goleak v1.3.0
